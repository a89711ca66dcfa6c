package app

import (
	"strconv"
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

// AddCRDFlags registers --serve-crds on fs, filling c when fs is parsed.
func (c *Config) AddCRDFlags(fs *pflag.FlagSet) {
	fs.Var(optionalBool{&c.ServeCRDs}, "serve-crds",
		"serve the custom resources of the CRDs stored in etcd, following them as they are created, changed and deleted; "+
			"needs customresourcedefinitions among the resources (default true with --resources kube, else false)")
	fs.Lookup("serve-crds").NoOptDefVal = "true"
}

// optionalBool is a boolean flag that tells "not given" (nil) from false.
type optionalBool struct{ p **bool }

func (o optionalBool) String() string {
	if o.p == nil || *o.p == nil {
		return ""
	}
	return strconv.FormatBool(**o.p)
}

func (o optionalBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*o.p = &b
	return nil
}

func (o optionalBool) Type() string { return "bool" }

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
