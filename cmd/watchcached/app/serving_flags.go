package app

import (
	"fmt"
	"net/http"

	"github.com/spf13/pflag"
)

// DefaultHTTP2MaxStreamsPerConnection is kube-apiserver's default of
// --http2-max-streams-per-connection: client-go multiplexes every watch
// of a process on one HTTP/2 connection.
const DefaultHTTP2MaxStreamsPerConnection = 1000

// http2BodyFrame bounds HTTP/2 frames and per-stream upload buffers, as
// kube-apiserver does: big enough for almost every object in one frame.
const http2BodyFrame = 256 << 10

// AddServingFlags registers --profiling and
// --http2-max-streams-per-connection on fs, filling c when fs is parsed.
func (c *Config) AddServingFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.Profiling, "profiling", c.Profiling,
		"serve Go's pprof profiles under /debug/pprof/ (authenticated and authorized as a non-resource URL; off: 404)")
	fs.IntVar(&c.HTTP2MaxStreamsPerConnection, "http2-max-streams-per-connection", c.HTTP2MaxStreamsPerConnection,
		"most concurrent HTTP/2 streams (requests and watches) one client connection may have open over TLS")
}

// validateServing checks the serving flags.
func (c *Config) validateServing() error {
	if c.HTTP2MaxStreamsPerConnection < 0 {
		return fmt.Errorf("--http2-max-streams-per-connection %d: must not be negative (0: %d)",
			c.HTTP2MaxStreamsPerConnection, DefaultHTTP2MaxStreamsPerConnection)
	}
	return nil
}

// http2Config is the HTTP/2 configuration of the HTTPS server: its
// stream limit, and kube-apiserver's frame and upload buffer sizes.
func (c *Config) http2Config() *http.HTTP2Config {
	n := c.HTTP2MaxStreamsPerConnection
	if n == 0 {
		n = DefaultHTTP2MaxStreamsPerConnection
	}
	return &http.HTTP2Config{
		MaxConcurrentStreams:          n,
		MaxReadFrameSize:              http2BodyFrame,
		MaxReceiveBufferPerStream:     http2BodyFrame,
		MaxReceiveBufferPerConnection: min(http2BodyFrame*n, 1<<31-1), // HTTP/2's largest window
	}
}
