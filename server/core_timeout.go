package server

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// DefaultRequestTimeout bounds every non-watch request.
const DefaultRequestTimeout = 60 * time.Second

// requestContext bounds a non-watch request (read or write), whichever
// frontend it came by: by its timeoutSeconds when that is positive, capped
// at DefaultRequestTimeout (kube-apiserver's --request-timeout), else by
// DefaultRequestTimeout; so a read that falls back to an unreachable etcd,
// or a write to it, ends with 504 instead of hanging (B63). A gRPC client's
// own deadline applies as well.
func requestContext(ctx context.Context, timeoutSeconds int64) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, requestTimeout(timeoutSeconds))
}

// requestTimeout is how long a non-watch request may take (requestContext).
func requestTimeout(timeoutSeconds int64) time.Duration {
	d := DefaultRequestTimeout
	if timeoutSeconds > 0 {
		d = min(d, secondsDuration(timeoutSeconds))
	}
	return d
}

// watchTimeout is how long a watch lasts: its timeoutSeconds, or, when it
// gave none, a random duration in [max/2, max] of Config.MaxWatchTimeout,
// so that many clients that connected together do not all reconnect
// together (B44).
func (s *Server) watchTimeout(timeoutSeconds int64) time.Duration {
	if timeoutSeconds > 0 {
		return secondsDuration(timeoutSeconds)
	}
	half := s.cfg.MaxWatchTimeout / 2
	return half + time.Duration(rand.Int64N(int64(s.cfg.MaxWatchTimeout-half)+1))
}

// secondsDuration converts a non-negative count of seconds to a Duration,
// capped at the largest Duration instead of overflowing into a negative one
// (which would end a watch or a request at once).
func secondsDuration(n int64) time.Duration {
	if n > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Second
}
