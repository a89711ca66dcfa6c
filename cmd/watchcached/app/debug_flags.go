package app

import "github.com/spf13/pflag"

// AddDebugFlags registers --profiling on fs, filling c when fs is parsed.
func (c *Config) AddDebugFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.Profiling, "profiling", c.Profiling,
		"serve Go's pprof profiles under /debug/pprof/ (authenticated and authorized as a non-resource URL; off: 404)")
}
