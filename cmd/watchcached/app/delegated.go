package app

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/watchcached/watchcached/delegated"
	"github.com/watchcached/watchcached/server"
)

// DelegatedConfig is the delegated authentication and authorization, with
// kube-apiserver's flag names: bearer tokens the static token file does
// not hold go to a kube-apiserver's TokenReview API, and what the policy
// file does not allow to its SubjectAccessReview API.
type DelegatedConfig struct {
	// AuthenticationKubeconfig names the kube-apiserver (and the
	// credentials) that reviews bearer tokens; "" for none.
	AuthenticationKubeconfig string
	// AuthenticationCacheTTL is how long a TokenReview's answer, good or
	// bad, is kept (0: not cached).
	AuthenticationCacheTTL time.Duration
	// AuthorizationKubeconfig names the kube-apiserver that reviews
	// access; "" for none.
	AuthorizationKubeconfig string
	// AuthorizedTTL and UnauthorizedTTL are how long a
	// SubjectAccessReview's allowed and not-allowed answers are kept (0:
	// not cached).
	AuthorizedTTL, UnauthorizedTTL time.Duration
	// Options tune both reviewers (timeout, retries, cache size, clock);
	// no flags, the zero value is kube-apiserver's.
	Options delegated.Options
}

// DefaultDelegatedConfig is kube-apiserver's defaults.
func DefaultDelegatedConfig() DelegatedConfig {
	return DelegatedConfig{AuthenticationCacheTTL: delegated.DefaultCacheTTL,
		AuthorizedTTL: delegated.DefaultCacheTTL, UnauthorizedTTL: delegated.DefaultCacheTTL}
}

// addDelegatedFlags registers the delegated authentication and
// authorization flags.
func (c *Config) addDelegatedFlags(fs *pflag.FlagSet) {
	d := &c.Auth.Delegated
	fs.StringVar(&d.AuthenticationKubeconfig, "authentication-kubeconfig", d.AuthenticationKubeconfig,
		"kubeconfig of the kube-apiserver whose TokenReview API (authentication.k8s.io/v1) checks the bearer tokens --token-auth-file does not hold")
	fs.DurationVar(&d.AuthenticationCacheTTL, "authentication-token-webhook-cache-ttl", d.AuthenticationCacheTTL,
		"how long TokenReview answers (authenticated or not) are cached; 0 disables the cache")
	fs.StringVar(&d.AuthorizationKubeconfig, "authorization-kubeconfig", d.AuthorizationKubeconfig,
		"kubeconfig of the kube-apiserver whose SubjectAccessReview API (authorization.k8s.io/v1) authorizes what --authorization-policy-file does not allow")
	fs.DurationVar(&d.AuthorizedTTL, "authorization-webhook-cache-authorized-ttl", d.AuthorizedTTL,
		"how long allowed SubjectAccessReview answers are cached; 0 disables")
	fs.DurationVar(&d.UnauthorizedTTL, "authorization-webhook-cache-unauthorized-ttl", d.UnauthorizedTTL,
		"how long not-allowed SubjectAccessReview answers are cached; 0 disables")
}

// validate checks the TTLs and that the kubeconfigs exist.
func (d *DelegatedConfig) validate() error {
	for flag, ttl := range map[string]time.Duration{
		"--authentication-token-webhook-cache-ttl":       d.AuthenticationCacheTTL,
		"--authorization-webhook-cache-authorized-ttl":   d.AuthorizedTTL,
		"--authorization-webhook-cache-unauthorized-ttl": d.UnauthorizedTTL,
	} {
		if ttl < 0 {
			return fmt.Errorf("%s %v: must not be negative", flag, ttl)
		}
	}
	for flag, path := range map[string]string{
		"--authentication-kubeconfig": d.AuthenticationKubeconfig,
		"--authorization-kubeconfig":  d.AuthorizationKubeconfig,
	} {
		if _, err := os.Stat(path); path != "" && err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	return nil
}

// tokenReviewer is the TokenReview authenticator; nil without
// --authentication-kubeconfig.
func (d *DelegatedConfig) tokenReviewer(log *slog.Logger) (server.TokenAuthenticator, error) {
	if d.AuthenticationKubeconfig == "" {
		return nil, nil
	}
	rc, err := loadKubeconfig("--authentication-kubeconfig", d.AuthenticationKubeconfig)
	if err != nil {
		return nil, err
	}
	a, err := delegated.NewAuthenticator(rc, d.AuthenticationCacheTTL, d.options(log))
	if err != nil {
		return nil, fmt.Errorf("--authentication-kubeconfig: %w", err)
	}
	return a, nil
}

// subjectAccessReviewer is the SubjectAccessReview authorizer; nil
// without --authorization-kubeconfig.
func (d *DelegatedConfig) subjectAccessReviewer(log *slog.Logger) (server.Authorizer, error) {
	if d.AuthorizationKubeconfig == "" {
		return nil, nil
	}
	rc, err := loadKubeconfig("--authorization-kubeconfig", d.AuthorizationKubeconfig)
	if err != nil {
		return nil, err
	}
	a, err := delegated.NewAuthorizer(rc, d.AuthorizedTTL, d.UnauthorizedTTL, d.options(log))
	if err != nil {
		return nil, fmt.Errorf("--authorization-kubeconfig: %w", err)
	}
	return a, nil
}

func (d *DelegatedConfig) options(log *slog.Logger) delegated.Options {
	o := d.Options
	if o.Logger == nil {
		o.Logger = log
	}
	return o
}

// loadKubeconfig reads a kubeconfig's current context as client-go does.
func loadKubeconfig(flag, path string) (*rest.Config, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return rc, nil
}
