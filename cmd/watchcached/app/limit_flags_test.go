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

// B200-B203: the request and connection limits' flags, their defaults and
// their refusals of values out of range.
func TestLimitFlags_B200_B203(t *testing.T) {
	for _, c := range []struct {
		name     string
		args     []string
		want     server.RequestLimits
		streams  int
		maxConns int
		err      string
	}{
		{"Defaults", nil, server.RequestLimits{MaxURLBytes: 65536, MaxSelectorBytes: 16384, MaxSelectorRequirements: 100}, 1000, 0, ""},
		{"Set", []string{"--max-url-bytes=10", "--max-selector-bytes=0", "--max-selector-requirements=3",
			"--grpc-max-concurrent-streams=7", "--max-connections=9"}, server.RequestLimits{MaxURLBytes: 10, MaxSelectorRequirements: 3}, 7, 9, ""},
		{"NegativeSelector", []string{"--max-selector-bytes=-1"},
			server.RequestLimits{MaxURLBytes: 65536, MaxSelectorBytes: -1, MaxSelectorRequirements: 100}, 1000, 0,
			"--max-selector-bytes -1: must not be negative (0: no limit)"},
		{"NegativeConnections", []string{"--max-connections=-2"}, server.DefaultRequestLimits, 1000, -2,
			"--max-connections -2: must not be negative (0: no limit)"},
		{"Streams", []string{"--grpc-max-concurrent-streams=-1"}, server.DefaultRequestLimits, -1, 0,
			"--grpc-max-concurrent-streams -1: must be between 1 and 4294967295 (0: the default)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			cfg.AddLimitFlags(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			if cfg.RequestLimits != c.want || cfg.GRPCMaxConcurrentStreams != c.streams || cfg.MaxConnections != c.maxConns {
				t.Errorf("limits %+v, streams %d, connections %d; want %+v, %d, %d", cfg.RequestLimits,
					cfg.GRPCMaxConcurrentStreams, cfg.MaxConnections, c.want, c.streams, c.maxConns)
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
