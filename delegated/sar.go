package delegated

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	authzv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/server"
)

// Authorizer authorizes requests with a SubjectAccessReview, as
// kube-apiserver's delegating webhook authorizer: allowed is Allow,
// denied is Deny, neither is NoOpinion, each with the review's reason; a
// review that failed is NoOpinion with the error (kube-apiserver answers
// 500). Answers are cached, keyed by the review's spec, for the
// authorized or the unauthorized TTL; errors are not cached. Safe for
// concurrent use.
type Authorizer struct {
	reviews                  authzv1client.SubjectAccessReviewInterface
	authorizedTTL, deniedTTL time.Duration
	opts                     Options
	cache                    *utilcache.LRUExpireCache // JSON of the spec → authzv1.SubjectAccessReviewStatus
}

var _ server.Authorizer = (*Authorizer)(nil)

// NewAuthorizer asks the kube-apiserver cfg names, caching allowed
// answers for authorizedTTL and the others for unauthorizedTTL (0: not
// cached).
func NewAuthorizer(cfg *rest.Config, authorizedTTL, unauthorizedTTL time.Duration, opts Options) (*Authorizer, error) {
	c, err := authzv1client.NewForConfig(restConfig(cfg))
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Authorizer{reviews: c.SubjectAccessReviews(), authorizedTTL: authorizedTTL, deniedTTL: unauthorizedTTL,
		opts: opts, cache: opts.newCache()}, nil
}

// errAllowedAndDenied is kube-apiserver's error for a contradictory review.
var errAllowedAndDenied = errors.New("webhook subject access review returned both allow and deny response")

// Authorize implements server.Authorizer.
func (w *Authorizer) Authorize(ctx context.Context, a server.Attributes) (server.Decision, string, error) {
	spec := reviewSpec(&a)
	key, err := json.Marshal(spec)
	if err != nil {
		return server.DecisionNoOpinion, "", err
	}
	var st authzv1.SubjectAccessReviewStatus
	if v, ok := w.cache.Get(string(key)); ok {
		st = v.(authzv1.SubjectAccessReviewStatus)
	} else {
		if st, err = w.review(ctx, spec); err != nil {
			return server.DecisionNoOpinion, "", err
		}
		w.remember(string(key), st)
	}
	switch {
	case st.Allowed && st.Denied:
		return server.DecisionDeny, st.Reason, errAllowedAndDenied
	case st.Denied:
		return server.DecisionDeny, st.Reason, nil
	case st.Allowed:
		return server.DecisionAllow, st.Reason, nil
	}
	return server.DecisionNoOpinion, st.Reason, nil
}

func (w *Authorizer) remember(key string, st authzv1.SubjectAccessReviewStatus) {
	ttl := w.deniedTTL
	if st.Allowed {
		ttl = w.authorizedTTL
	}
	if ttl > 0 {
		w.cache.Add(key, st, ttl)
	}
}

// review creates the SubjectAccessReview, retrying transient errors.
func (w *Authorizer) review(ctx context.Context, spec authzv1.SubjectAccessReviewSpec) (authzv1.SubjectAccessReviewStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	var out *authzv1.SubjectAccessReview
	err := withRetry(ctx, *w.opts.Backoff, func() (err error) {
		out, err = w.reviews.Create(ctx, &authzv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		w.opts.Logger.Warn("SubjectAccessReview failed", "user", spec.User, "err", err)
		return authzv1.SubjectAccessReviewStatus{}, err
	}
	return out.Status, nil
}

// reviewSpec is the review of a: the user, and the resource attributes
// (verb, group, version, resource, subresource, namespace, name) or the
// non-resource ones (path, verb).
func reviewSpec(a *server.Attributes) authzv1.SubjectAccessReviewSpec {
	s := authzv1.SubjectAccessReviewSpec{User: a.User.Name, UID: a.User.UID, Groups: a.User.Groups}
	if a.User.Extra != nil {
		s.Extra = make(map[string]authzv1.ExtraValue, len(a.User.Extra))
		for k, v := range maps.All(a.User.Extra) {
			s.Extra[k] = v
		}
	}
	if !a.ResourceRequest {
		s.NonResourceAttributes = &authzv1.NonResourceAttributes{Path: a.Path, Verb: a.Verb}
		return s
	}
	s.ResourceAttributes = &authzv1.ResourceAttributes{Namespace: a.Namespace, Verb: a.Verb, Group: a.APIGroup,
		Version: a.APIVersion, Resource: a.Resource, Subresource: a.Subresource, Name: a.Name}
	return s
}
