package server

import (
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"strings"

	"github.com/watchcached/watchcached/api"
)

// The users and groups kube-apiserver gives requests, with the same names.
const (
	UserAnonymous            = "system:anonymous"
	GroupUnauthenticated     = "system:unauthenticated"
	GroupAuthenticated       = "system:authenticated"
	msgUnauthorized          = "Unauthorized"
	bearerScheme             = "bearer"
	authorizationHeader      = "Authorization"
	authorizationGRPCMetaKey = "authorization"
)

// User is who made a request, as authentication found it: the name, the
// uid (from the token file or a TokenReview; "" for client certificates),
// the groups and the extra attributes a TokenReview gave. It is a plain
// value; Groups and Extra must not be modified once in a context.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string `json:",omitempty"`
}

// TokenAuthenticator checks a bearer token the static tokens do not hold,
// as kube-apiserver's token authenticators: the user and true when the
// token is good; false and no error when it is not; an error when it
// could not be checked (the request is then refused, 401). Errors never
// contain the token. Implementations must be safe for concurrent use and
// return when ctx is done.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (User, bool, error)
}

// Anonymous is the user of a request without credentials.
var Anonymous = User{Name: UserAnonymous, Groups: []string{GroupUnauthenticated}}

// Authentication configures who may make requests. With neither ClientCAs
// nor Tokens, every request is served as Anonymous (no authentication).
// It is read-only once given to New.
type Authentication struct {
	// ClientCAs verifies client certificates (for client authentication);
	// the user is the certificate's CN, the groups its O entries. The
	// listener's TLS configuration must request client certificates
	// (tls.RequestClientCert): the verification is done here, as
	// kube-apiserver does, so a bad certificate is a 401, not a failed
	// handshake.
	ClientCAs *x509.CertPool
	// Tokens maps static bearer tokens to their users (--token-auth-file).
	Tokens map[string]User
	// Webhook checks the bearer tokens Tokens does not hold
	// (--authentication-kubeconfig: a TokenReview); nil when none.
	Webhook TokenAuthenticator
	// Anonymous serves requests without credentials as Anonymous; without
	// it they are refused with 401 whenever an authenticator is configured.
	Anonymous bool
}

// Enabled reports whether any authenticator is configured.
func (a *Authentication) Enabled() bool {
	return a != nil && (a.ClientCAs != nil || len(a.Tokens) > 0 || a.Webhook != nil)
}

// presented are the credentials a request presents, from either frontend.
type presented struct {
	certs         []*x509.Certificate // the TLS peer's chain, leaf first
	authorization string              // the Authorization header or metadata
}

// errInvalidToken and errNoCredentials explain a refusal in the debug log;
// neither names the token.
var (
	errInvalidToken  = errors.New("invalid bearer token")
	errNoCredentials = errors.New("no credentials and anonymous access is off")
	errUnauthorized  = api.Errorf(api.ErrUnauthorized, msgUnauthorized)
)

// authenticate finds the user of a request, as kube-apiserver's union of
// authenticators does: a client certificate, else a bearer token; a
// presented credential that fails is refused even when anonymous access is
// on; no credential at all is Anonymous when allowed. The returned error
// is for the log and never contains the credential. ctx bounds a call to
// the webhook.
func (a *Authentication) authenticate(ctx context.Context, c presented) (User, error) {
	if !a.Enabled() {
		return Anonymous, nil
	}
	var errs []error
	if a.ClientCAs != nil && len(c.certs) > 0 {
		u, err := a.verifyCert(c.certs)
		if err == nil {
			return withAuthenticated(u), nil
		}
		errs = append(errs, err)
	}
	if token, ok := bearerToken(c.authorization); ok && (len(a.Tokens) > 0 || a.Webhook != nil) {
		u, err := a.authenticateToken(ctx, token)
		if err == nil {
			return withAuthenticated(u), nil
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return User{}, errors.Join(errs...)
	}
	if a.Anonymous {
		return Anonymous, nil
	}
	return User{}, errNoCredentials
}

// authenticateToken looks a bearer token up in the static tokens, then
// asks the webhook, as kube-apiserver's union of token authenticators.
func (a *Authentication) authenticateToken(ctx context.Context, token string) (User, error) {
	if u, found := a.Tokens[token]; found {
		return u, nil
	}
	if a.Webhook == nil {
		return User{}, errInvalidToken
	}
	u, ok, err := a.Webhook.AuthenticateToken(ctx, token)
	switch {
	case err != nil:
		return User{}, err
	case !ok:
		return User{}, errInvalidToken
	}
	return u, nil
}

// verifyCert verifies the peer's chain against the client CAs for client
// authentication and maps the leaf: user CN, groups O.
func (a *Authentication) verifyCert(certs []*x509.Certificate) (User, error) {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: a.ClientCAs, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return User{}, err
	}
	leaf := certs[0]
	return User{Name: leaf.Subject.CommonName, Groups: slices.Clone(leaf.Subject.Organization)}, nil
}

// bearerToken parses "Bearer <token>" (the scheme in any case) as
// kube-apiserver does; an empty token is no token.
func bearerToken(header string) (string, bool) {
	parts := strings.SplitN(strings.TrimSpace(header), " ", 3)
	if len(parts) < 2 || strings.ToLower(parts[0]) != bearerScheme || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}

// withAuthenticated adds system:authenticated to an authenticated user's
// groups unless it has it (or system:unauthenticated) already.
func withAuthenticated(u User) User {
	if slices.Contains(u.Groups, GroupAuthenticated) || slices.Contains(u.Groups, GroupUnauthenticated) {
		return u
	}
	u.Groups = append(slices.Clip(u.Groups), GroupAuthenticated)
	return u
}

type userKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u User) context.Context {
	noteUser(ctx, u) // the HTTP access log's user
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user a request's context carries: every request the
// server serves has one (Anonymous when authentication is off).
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}
