package app

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/server"
)

// B93: the admission flags default to kube-apiserver's in-flight limits
// and a generous watch limit, take 0 for no limit, and refuse negatives.
func TestLimitFlags_B93(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want server.Limits
		err  string
	}{
		{"Defaults", nil, server.Limits{MaxRequestsInflight: 400, MaxMutatingRequestsInflight: 200, MaxWatches: 100000}, ""},
		{"Set", []string{"--max-requests-inflight=7", "--max-mutating-requests-inflight=3", "--max-watches=0"},
			server.Limits{MaxRequestsInflight: 7, MaxMutatingRequestsInflight: 3}, ""},
		{"Negative", []string{"--max-watches=-1"}, server.Limits{MaxRequestsInflight: 400, MaxMutatingRequestsInflight: 200, MaxWatches: -1},
			"--max-watches -1: must not be negative (0: no limit)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			cfg.AddLimitFlags(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			if cfg.Limits != c.want {
				t.Errorf("limits %+v, want %+v", cfg.Limits, c.want)
			}
			got := ""
			if err := cfg.Validate(); err != nil {
				got = err.Error()
			}
			if got != c.err {
				t.Errorf("Validate: %q, want %q", got, c.err)
			}
		})
	}
}
