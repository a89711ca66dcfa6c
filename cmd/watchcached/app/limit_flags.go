package app

import (
	"fmt"
	"math"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/server"
)

// AddLimitFlags registers the admission limits (B93) and the request and
// connection limits (B200-B203) on fs, filling
// c.Limits when fs is parsed; the defaults are c's current values.
func (c *Config) AddLimitFlags(fs *pflag.FlagSet) {
	fs.IntVar(&c.Limits.MaxRequestsInflight, "max-requests-inflight", c.Limits.MaxRequestsInflight,
		"most get and list requests served at once, over HTTP and gRPC together; more get 429 (0: no limit)")
	fs.IntVar(&c.Limits.MaxMutatingRequestsInflight, "max-mutating-requests-inflight", c.Limits.MaxMutatingRequestsInflight,
		"most create, update, patch and delete requests served at once; more get 429 (0: no limit)")
	fs.IntVar(&c.Limits.MaxWatches, "max-watches", c.Limits.MaxWatches,
		"most watch streams open at once, over HTTP and gRPC together; more get 429 (0: no limit)")
	fs.IntVar(&c.RequestLimits.MaxURLBytes, "max-url-bytes", c.RequestLimits.MaxURLBytes,
		"longest HTTP request URL (path and query, as sent) in bytes; longer ones get 400 (0: no limit but net/http's 1 MiB for all headers)")
	fs.IntVar(&c.RequestLimits.MaxSelectorBytes, "max-selector-bytes", c.RequestLimits.MaxSelectorBytes,
		"longest labelSelector or fieldSelector in bytes, over HTTP and gRPC; longer ones get 400 (0: no limit)")
	fs.IntVar(&c.RequestLimits.MaxSelectorRequirements, "max-selector-requirements", c.RequestLimits.MaxSelectorRequirements,
		"most requirements (comma-separated terms) in one labelSelector or fieldSelector; more get 400 (0: no limit)")
	fs.IntVar(&c.GRPCMaxConcurrentStreams, "grpc-max-concurrent-streams", server.DefaultGRPCMaxConcurrentStreams,
		"most streams open at once on one gRPC connection; a client's further streams wait for one to end")
	fs.IntVar(&c.MaxConnections, "max-connections", c.MaxConnections,
		"most client connections open at once on each of --listen and --grpc-listen; further ones wait to be accepted (0: no limit)")
}

// validateLimits refuses a negative limit, naming its flag.
func (c *Config) validateLimits() error {
	for _, f := range []struct {
		flag string
		v    int
	}{
		{"--max-requests-inflight", c.Limits.MaxRequestsInflight}, {"--max-mutating-requests-inflight", c.Limits.MaxMutatingRequestsInflight},
		{"--max-watches", c.Limits.MaxWatches}, {"--max-url-bytes", c.RequestLimits.MaxURLBytes},
		{"--max-selector-bytes", c.RequestLimits.MaxSelectorBytes}, {"--max-selector-requirements", c.RequestLimits.MaxSelectorRequirements},
		{"--max-connections", c.MaxConnections},
	} {
		if f.v < 0 {
			return fmt.Errorf("%s %d: must not be negative (0: no limit)", f.flag, f.v)
		}
	}
	if c.GRPCMaxConcurrentStreams < 0 || c.GRPCMaxConcurrentStreams > math.MaxUint32 {
		return fmt.Errorf("--grpc-max-concurrent-streams %d: must be between 1 and %d (0: the default)", c.GRPCMaxConcurrentStreams, uint32(math.MaxUint32))
	}
	return nil
}
