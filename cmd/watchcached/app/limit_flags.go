package app

import (
	"fmt"

	"github.com/spf13/pflag"
)

// AddLimitFlags registers the admission limits (B93) on fs, filling
// c.Limits when fs is parsed; the defaults are c's current values.
func (c *Config) AddLimitFlags(fs *pflag.FlagSet) {
	fs.IntVar(&c.Limits.MaxRequestsInflight, "max-requests-inflight", c.Limits.MaxRequestsInflight,
		"most get and list requests served at once, over HTTP and gRPC together; more get 429 (0: no limit)")
	fs.IntVar(&c.Limits.MaxMutatingRequestsInflight, "max-mutating-requests-inflight", c.Limits.MaxMutatingRequestsInflight,
		"most create, update, patch and delete requests served at once; more get 429 (0: no limit)")
	fs.IntVar(&c.Limits.MaxWatches, "max-watches", c.Limits.MaxWatches,
		"most watch streams open at once, over HTTP and gRPC together; more get 429 (0: no limit)")
}

// validateLimits refuses a negative limit, naming its flag.
func (c *Config) validateLimits() error {
	for flag, v := range map[string]int{"--max-requests-inflight": c.Limits.MaxRequestsInflight,
		"--max-mutating-requests-inflight": c.Limits.MaxMutatingRequestsInflight, "--max-watches": c.Limits.MaxWatches} {
		if v < 0 {
			return fmt.Errorf("%s %d: must not be negative (0: no limit)", flag, v)
		}
	}
	return nil
}
