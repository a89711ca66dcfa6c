package app

import (
	"time"

	"github.com/spf13/pflag"
)

// AddCompactionFlags registers the flags of etcd compaction and the
// embedded etcd's space quota on fs, filling c when fs is parsed.
func (c *Config) AddCompactionFlags(fs *pflag.FlagSet) {
	fs.Var(optionalDuration{&c.EtcdCompactionInterval}, "etcd-compaction-interval",
		"how often to compact etcd's history, keeping the last interval of it; 0 disables "+
			"(default 5m with the embedded etcd, off with --etcd-servers: the etcd's owner compacts it)")
	fs.Int64Var(&c.EmbeddedEtcdQuotaBytes, "embedded-etcd-quota-bytes", c.EmbeddedEtcdQuotaBytes,
		"space quota of the embedded etcd in bytes, past which it refuses writes (0: 2 GiB, etcd's default)")
}

// optionalDuration is a duration flag that tells "not given" (nil) from
// any value, 0 included.
type optionalDuration struct{ p **time.Duration }

func (o optionalDuration) String() string {
	if o.p == nil || *o.p == nil {
		return ""
	}
	return (**o.p).String()
}

func (o optionalDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*o.p = &d
	return nil
}

func (o optionalDuration) Type() string { return "duration" }
