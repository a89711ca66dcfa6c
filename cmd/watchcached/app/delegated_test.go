package app

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestDelegatedFlags_B157_Defaults: the flags have kube-apiserver's names
// and defaults (10s caches) and fill the configuration.
func TestDelegatedFlags_B157_Defaults(t *testing.T) {
	cfg := DefaultConfig()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	cfg.AddAuthFlags(fs)
	for name, want := range map[string]string{
		"authentication-kubeconfig": "", "authentication-token-webhook-cache-ttl": "10s",
		"authorization-kubeconfig": "", "authorization-webhook-cache-authorized-ttl": "10s",
		"authorization-webhook-cache-unauthorized-ttl": "10s",
	} {
		if f := fs.Lookup(name); f == nil || f.DefValue != want {
			t.Errorf("--%s: %v, want default %q", name, f, want)
		}
	}
	if err := fs.Parse([]string{"--authentication-kubeconfig", "k1", "--authentication-token-webhook-cache-ttl", "1m",
		"--authorization-kubeconfig", "k2", "--authorization-webhook-cache-authorized-ttl", "5m",
		"--authorization-webhook-cache-unauthorized-ttl", "30s"}); err != nil {
		t.Fatal(err)
	}
	d := cfg.Auth.Delegated
	if d.AuthenticationKubeconfig != "k1" || d.AuthenticationCacheTTL != time.Minute || d.AuthorizationKubeconfig != "k2" ||
		d.AuthorizedTTL != 5*time.Minute || d.UnauthorizedTTL != 30*time.Second {
		t.Errorf("parsed %+v", d)
	}
}

// TestDelegatedFlags_B157_ValidateErrors: a missing or unreadable
// kubeconfig or a negative TTL is refused at start, naming the flag; a
// delegated authenticator is authentication enough for a non-loopback
// listener.
func TestDelegatedFlags_B157_ValidateErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	bad := writeTemp(t, "bad.kubeconfig", "apiVersion: v1\nkind: Config\nclusters: [\n")
	good := writeTemp(t, "good.kubeconfig", `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: kc-t0ken-s3cret}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--authentication-kubeconfig", missing}, "--authentication-kubeconfig: stat " + missing + ": no such file or directory"},
		{[]string{"--authorization-kubeconfig", missing}, "--authorization-kubeconfig: stat " + missing + ": no such file or directory"},
		{[]string{"--authentication-kubeconfig", bad}, "--authentication-kubeconfig: error loading config file \"" + bad +
			"\": yaml: line 3: did not find expected node content"},
		{[]string{"--authentication-token-webhook-cache-ttl", "-1s"}, "--authentication-token-webhook-cache-ttl -1s: must not be negative"},
		{[]string{"--authorization-webhook-cache-unauthorized-ttl", "-1s"}, "--authorization-webhook-cache-unauthorized-ttl -1s: must not be negative"},
		{[]string{"--listen", "0.0.0.0:8080", "--authentication-kubeconfig", good, "--authorization-kubeconfig", good}, ""},
	} {
		cfg := DefaultConfig()
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "")
		cfg.AddAuthFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if got := errString(cfg.Validate()); got != c.want {
			t.Errorf("%v: got %s\nwant %s", c.args, got, c.want)
		}
	}
}
