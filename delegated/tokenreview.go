package delegated

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	authnv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/server"
)

// Authenticator checks bearer tokens with a TokenReview, as
// kube-apiserver's delegating webhook token authenticator: an
// authenticated review is the user (name, uid, groups, extra); an
// unauthenticated one is an invalid token; a review that failed, or that
// came back with status.error, is an error (the request is refused with
// 401). Both answers are cached for the TTL, keyed by the token's SHA-256
// (the token itself is never kept); errors are not cached. Safe for
// concurrent use.
type Authenticator struct {
	reviews authnv1client.TokenReviewInterface
	ttl     time.Duration
	opts    Options
	cache   *utilcache.LRUExpireCache // [sha256.Size]byte → tokenAnswer
}

// tokenAnswer is a cached review.
type tokenAnswer struct {
	user server.User
	ok   bool
}

var _ server.TokenAuthenticator = (*Authenticator)(nil)

// NewAuthenticator reviews tokens with the kube-apiserver cfg names and
// caches answers for ttl (0: no cache).
func NewAuthenticator(cfg *rest.Config, ttl time.Duration, opts Options) (*Authenticator, error) {
	c, err := authnv1client.NewForConfig(restConfig(cfg))
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Authenticator{reviews: c.TokenReviews(), ttl: ttl, opts: opts, cache: opts.newCache()}, nil
}

// AuthenticateToken implements server.TokenAuthenticator.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (server.User, bool, error) {
	key := sha256.Sum256([]byte(token))
	if v, ok := a.cache.Get(key); ok {
		ans := v.(tokenAnswer)
		return ans.user, ans.ok, nil
	}
	st, err := a.review(ctx, token)
	if err != nil {
		return server.User{}, false, err
	}
	if !st.Authenticated {
		if st.Error != "" {
			return server.User{}, false, fmt.Errorf("TokenReview: %s", st.Error)
		}
		a.remember(key, tokenAnswer{})
		return server.User{}, false, nil
	}
	u := server.User{Name: st.User.Username, UID: st.User.UID, Groups: slices.Clone(st.User.Groups)}
	if st.User.Extra != nil {
		u.Extra = make(map[string][]string, len(st.User.Extra))
		for k, v := range maps.All(st.User.Extra) {
			u.Extra[k] = slices.Clone([]string(v))
		}
	}
	a.remember(key, tokenAnswer{user: u, ok: true})
	return u, true, nil
}

func (a *Authenticator) remember(key [sha256.Size]byte, ans tokenAnswer) {
	if a.ttl > 0 {
		a.cache.Add(key, ans, a.ttl)
	}
}

// errNoStatus is a review the server answered without a body.
var errNoStatus = errors.New("TokenReview: empty answer")

// review creates the TokenReview, retrying transient errors.
func (a *Authenticator) review(ctx context.Context, token string) (authnv1.TokenReviewStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	var out *authnv1.TokenReview
	err := withRetry(ctx, *a.opts.Backoff, func() (err error) {
		out, err = a.reviews.Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		return err
	})
	switch {
	case err != nil:
		a.opts.Logger.Warn("TokenReview failed; the request is refused (401)", "err", err)
		return authnv1.TokenReviewStatus{}, fmt.Errorf("TokenReview: %w", err)
	case out == nil:
		return authnv1.TokenReviewStatus{}, errNoStatus
	}
	return out.Status, nil
}
