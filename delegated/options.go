package delegated

import (
	"context"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
)

// Defaults of kube-apiserver's delegated authentication and
// authorization options.
const (
	DefaultCacheTTL  = 10 * time.Second // --authentication-token-webhook-cache-ttl, --authorization-webhook-cache-*-ttl
	DefaultTimeout   = 10 * time.Second // one review, retries included
	DefaultCacheSize = 8192             // answers kept per cache
)

// DefaultBackoff is kube-apiserver's retry of a review that failed with
// a transient error: 5 tries, 500ms apart at first, 1.5 times longer each
// time, with 20% jitter.
func DefaultBackoff() wait.Backoff {
	return wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
}

// Options are what both reviewers share. The zero value of a field is its
// default.
type Options struct {
	// Timeout bounds one review, its retries included.
	Timeout time.Duration
	// Backoff paces the retries of transient errors (a 500, 429 or
	// timeout from the reviewing server, a reset connection); Steps is the
	// number of tries.
	Backoff *wait.Backoff
	// CacheSize bounds the number of cached answers (least recently used
	// go first).
	CacheSize int
	// Clock tells the cache the time (tests inject a fake one).
	Clock utilcache.Clock
	// Logger gets the failed reviews (never a token).
	Logger *slog.Logger
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Backoff == nil {
		b := DefaultBackoff()
		o.Backoff = &b
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) newCache() *utilcache.LRUExpireCache {
	return utilcache.NewLRUExpireCacheWithClock(o.CacheSize, o.Clock)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// restConfig is a copy of cfg with kube-apiserver's rate limits for its
// review clients (a low limit would throttle every request).
func restConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 200, 400
	return c
}

// withRetry calls try until it succeeds, fails with an error that is not
// transient, the backoff's tries are used up or ctx is done; it returns
// try's last error.
func withRetry(ctx context.Context, b wait.Backoff, try func() error) error {
	for {
		err := try()
		if err == nil || !transient(err) || b.Steps <= 1 {
			return err
		}
		t := time.NewTimer(b.Step())
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// transient reports whether a review may succeed when tried again, as
// kube-apiserver's webhook.DefaultShouldRetry decides.
func transient(err error) bool {
	if utilnet.IsConnectionReset(err) || utilnet.IsHTTP2ConnectionLost(err) || apierrors.IsInternalError(err) ||
		apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) {
		return true
	}
	_, delay := apierrors.SuggestsClientDelay(err)
	return delay
}
