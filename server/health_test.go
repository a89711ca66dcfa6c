package server

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// switchCheck is a check whose result a test sets.
type switchCheck struct {
	name string
	mu   sync.Mutex
	err  error // guarded by mu
}

func (c *switchCheck) Name() string { return c.name }

func (c *switchCheck) Check(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *switchCheck) set(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

// TestHealthChecks_Format: the endpoints answer in kube-apiserver's format:
// "ok", or with ?verbose one line per check and "<endpoint> check passed";
// on failure always every line, the reason withheld, "<endpoint> check
// failed" and 500; /readyz/<check> shows the reason; ?exclude skips a
// check. /livez and /healthz never run the configured checks.
func TestHealthChecks_Format(t *testing.T) {
	t.Parallel()
	etcd, cache := &switchCheck{name: "etcd"}, &switchCheck{name: "cache:pods"}
	f := newFixture(t, func(c *Config) { c.HealthChecks = []api.HealthChecker{etcd, cache} })

	r := f.do(t, http.MethodGet, "/readyz", "")
	r.expect(t, 200, "ok")
	if ct, nosniff := r.header.Get("Content-Type"), r.header.Get("X-Content-Type-Options"); ct != "text/plain; charset=utf-8" || nosniff != "nosniff" {
		t.Errorf("headers: Content-Type %q, X-Content-Type-Options %q", ct, nosniff)
	}
	f.do(t, http.MethodGet, "/readyz?verbose", "").expect(t, 200,
		"[+]ping ok\n[+]etcd ok\n[+]cache:pods ok\n[+]shutdown ok\nreadyz check passed")
	f.do(t, http.MethodGet, "/livez?verbose", "").expect(t, 200, "[+]ping ok\nlivez check passed")
	f.do(t, http.MethodGet, "/healthz?verbose", "").expect(t, 200, "[+]ping ok\nhealthz check passed")
	f.do(t, http.MethodGet, "/readyz/etcd", "").expect(t, 200, "ok")
	f.do(t, http.MethodGet, "/readyz/ping", "").expect(t, 200, "ok")
	f.do(t, http.MethodGet, "/livez/ping", "").expect(t, 200, "ok")

	etcd.set(errors.New("etcd unreachable: etcd request timed out"))
	failed := "[+]ping ok\n[-]etcd failed: reason withheld\n[+]cache:pods ok\n[+]shutdown ok\nreadyz check failed"
	f.do(t, http.MethodGet, "/readyz", "").expect(t, 500, failed)
	f.do(t, http.MethodGet, "/readyz?verbose", "").expect(t, 500, failed)
	f.do(t, http.MethodGet, "/readyz/etcd", "").expect(t, 500, "internal server error: etcd unreachable: etcd request timed out")
	f.do(t, http.MethodGet, "/readyz/cache:pods", "").expect(t, 200, "ok")
	f.do(t, http.MethodGet, "/livez", "").expect(t, 200, "ok")
	f.do(t, http.MethodGet, "/healthz", "").expect(t, 200, "ok")

	f.do(t, http.MethodGet, "/readyz?exclude=etcd&verbose", "").expect(t, 200,
		"[+]ping ok\n[+]etcd excluded: ok\n[+]cache:pods ok\n[+]shutdown ok\nreadyz check passed")
	f.do(t, http.MethodGet, "/readyz?exclude=etcd&exclude=nope&exclude=b", "").expect(t, 200, "ok")
	f.do(t, http.MethodGet, "/readyz?exclude=etcd&exclude=nope&exclude=b&verbose", "").expect(t, 200,
		"[+]ping ok\n[+]etcd excluded: ok\n[+]cache:pods ok\n[+]shutdown ok\n"+
			"warn: some health checks cannot be excluded: no matches for \"b\",\"nope\"\nreadyz check passed")

	nf := status(404, "NotFound", "the server could not find the requested resource", "")
	f.do(t, http.MethodGet, "/readyz/nope", "").expect(t, 404, nf)
	f.do(t, http.MethodGet, "/livez/etcd", "").expect(t, 404, nf)
	f.do(t, http.MethodGet, "/readyzz", "").expect(t, 404, nf)

	etcd.set(nil)
	f.srv.CloseWatches()
	f.do(t, http.MethodGet, "/readyz", "").expect(t, 500,
		"[+]ping ok\n[+]etcd ok\n[+]cache:pods ok\n[-]shutdown failed: reason withheld\nreadyz check failed")
	f.do(t, http.MethodGet, "/readyz/shutdown", "").expect(t, 500, "internal server error: process is shutting down")
	f.do(t, http.MethodGet, "/livez", "").expect(t, 200, "ok")
}

// TestHealthChecks_Validate: every check has its own, non-reserved name.
func TestHealthChecks_Validate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		checks []api.HealthChecker
		want   string
	}{
		{[]api.HealthChecker{&switchCheck{name: "etcd"}, &switchCheck{name: "etcd"}}, `server: health check "etcd" is reserved or configured twice`},
		{[]api.HealthChecker{&switchCheck{name: "ping"}}, `server: health check "ping" is reserved or configured twice`},
		{[]api.HealthChecker{&switchCheck{name: ""}}, `server: health check 0 has an invalid name ""`},
		{[]api.HealthChecker{nil}, `server: health check 0 is nil`},
	} {
		_, err := New(Config{Storages: []api.Storage{&replayStorage{res: podsRes}}, HealthChecks: tc.checks})
		if err == nil || err.Error() != tc.want {
			t.Errorf("New with %d checks: %v, want %s", len(tc.checks), err, tc.want)
		}
	}
	// An empty, non-nil list means no checks besides the server's own.
	f := newFixture(t, func(c *Config) { c.HealthChecks = []api.HealthChecker{} })
	f.pods.setNotReady(true)
	f.do(t, http.MethodGet, "/readyz?verbose", "").expect(t, 200, "[+]ping ok\n[+]shutdown ok\nreadyz check passed")
}
