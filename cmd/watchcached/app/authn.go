package app

import (
	"crypto/x509"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/server"
)

// AuthConfig is the serving TLS and the authentication of both frontends,
// with kube-apiserver's flag names.
type AuthConfig struct {
	// TLSCertFile and TLSPrivateKeyFile (both or neither) serve HTTPS and
	// gRPC over TLS; the pair is reloaded when the files change.
	TLSCertFile, TLSPrivateKeyFile string
	// ClientCAFile authenticates client certificates signed by its CAs
	// (user CN, groups O); needs TLS.
	ClientCAFile string
	// TokenAuthFile is a static token CSV: token,user,uid[,"group1,group2"].
	TokenAuthFile string
	// AnonymousAuth serves requests without credentials as
	// system:anonymous when an authenticator is configured (off: 401).
	AnonymousAuth bool
	// AuthorizationPolicyFile is a YAML file of RBAC objects authorizing
	// every request (authz.go); "" allows every authenticated request.
	AuthorizationPolicyFile string
	// InsecureAllowAnonymous allows listening on a non-loopback address
	// with no authentication configured.
	InsecureAllowAnonymous bool
	// Delegated is the delegated authentication and authorization
	// (--authentication-kubeconfig, --authorization-kubeconfig;
	// delegated.go).
	Delegated DelegatedConfig
}

// AddAuthFlags registers the TLS and authentication flags on fs, filling
// c.Auth when fs is parsed.
func (c *Config) AddAuthFlags(fs *pflag.FlagSet) {
	a := &c.Auth
	fs.StringVar(&a.TLSCertFile, "tls-cert-file", a.TLSCertFile, "serving certificate (PEM) for HTTPS and gRPC over TLS; reloaded when it changes")
	fs.StringVar(&a.TLSPrivateKeyFile, "tls-private-key-file", a.TLSPrivateKeyFile, "private key (PEM) of --tls-cert-file")
	fs.StringVar(&a.ClientCAFile, "client-ca-file", a.ClientCAFile, "CA bundle authenticating client certificates: user = CN, groups = O (needs --tls-cert-file)")
	fs.StringVar(&a.TokenAuthFile, "token-auth-file", a.TokenAuthFile, "static bearer tokens, CSV: token,user,uid,\"group1,group2\"")
	fs.BoolVar(&a.AnonymousAuth, "anonymous-auth", a.AnonymousAuth, "serve requests without credentials as system:anonymous when an authenticator is configured (default: 401)")
	c.addDelegatedFlags(fs)
	c.addAuthzFlags(fs)
	fs.BoolVar(&a.InsecureAllowAnonymous, "insecure-allow-anonymous", a.InsecureAllowAnonymous, "allow a non-loopback --listen/--grpc-listen without any authentication")
}

// authnConfigured reports whether any authenticator is configured.
func (a *AuthConfig) authnConfigured() bool {
	return a.ClientCAFile != "" || a.TokenAuthFile != "" || a.Delegated.AuthenticationKubeconfig != ""
}

// validateAuth checks the TLS and authentication flags, loading every
// file so a bad one is reported at start with its flag, and refuses a
// non-loopback listener without authentication unless allowed.
func (c *Config) validateAuth() error {
	a := &c.Auth
	switch {
	case (a.TLSCertFile == "") != (a.TLSPrivateKeyFile == ""):
		return errors.New("--tls-cert-file and --tls-private-key-file: give both or neither")
	case a.ClientCAFile != "" && a.TLSCertFile == "":
		return errors.New("--client-ca-file: client certificates need TLS (--tls-cert-file and --tls-private-key-file)")
	}
	if a.TLSCertFile != "" {
		if _, err := server.NewCertReloader(a.TLSCertFile, a.TLSPrivateKeyFile, nil); err != nil {
			return err
		}
	}
	if err := a.Delegated.validate(); err != nil {
		return err
	}
	if _, err := a.authentication(nil); err != nil {
		return err
	}
	if _, err := a.authorizer(nil); err != nil {
		return err
	}
	if a.authnConfigured() || a.InsecureAllowAnonymous {
		return nil
	}
	for flag, addr := range map[string]string{"--listen": c.Listen, "--grpc-listen": c.GRPCListen} {
		if addr != "" && !isLoopbackAddr(addr) {
			return fmt.Errorf("%s %q: not a loopback address and no authentication is configured (--client-ca-file, --token-auth-file, --authentication-kubeconfig); "+
				"give --insecure-allow-anonymous to serve everyone anyway", flag, addr)
		}
	}
	return nil
}

// isLoopbackAddr reports whether host:port listens on loopback only.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// authentication loads the configured authenticators; nil when none. log
// gets the webhook's failures (nil: discarded).
func (a *AuthConfig) authentication(log *slog.Logger) (*server.Authentication, error) {
	if !a.authnConfigured() {
		return nil, nil
	}
	out := &server.Authentication{Anonymous: a.AnonymousAuth}
	var err error
	if out.Webhook, err = a.Delegated.tokenReviewer(log); err != nil {
		return nil, err
	}
	if a.ClientCAFile != "" {
		pem, err := os.ReadFile(a.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--client-ca-file: %w", err)
		}
		out.ClientCAs = x509.NewCertPool()
		if !out.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca-file %s: no PEM certificate found", a.ClientCAFile)
		}
	}
	if a.TokenAuthFile != "" {
		f, err := os.Open(a.TokenAuthFile)
		if err != nil {
			return nil, fmt.Errorf("--token-auth-file: %w", err)
		}
		defer f.Close()
		if out.Tokens, err = parseTokens(f); err != nil {
			return nil, fmt.Errorf("--token-auth-file %s: %w", a.TokenAuthFile, err)
		}
	}
	return out, nil
}

// parseTokens reads kube-apiserver's static token CSV with its rules:
// token,user,uid and optionally a comma-separated group list; fewer than 3
// columns is an error naming the line; a line with an empty token is
// skipped; a repeated token's last line wins. Errors never quote a token.
func parseTokens(r io.Reader) (map[string]server.User, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	tokens := map[string]server.User{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("line %d: %w", pe.Line, pe.Err)
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < 3 {
			return nil, fmt.Errorf("line %d: must have at least 3 columns (token, user name, user uid), found %d", line, len(rec))
		}
		if rec[0] == "" {
			continue
		}
		u := server.User{Name: rec[1], UID: rec[2]}
		if len(rec) >= 4 {
			u.Groups = strings.Split(rec[3], ",")
		}
		tokens[rec[0]] = u
	}
	return tokens, nil
}
