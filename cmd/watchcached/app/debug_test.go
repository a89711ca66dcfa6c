package app

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// profilingPolicy lets alice read the profiles (and one unknown path, to
// compare 404s); bob has no grant.
const profilingPolicy = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: profiler}
rules: [{nonResourceURLs: [/debug/pprof, /debug/pprof/*, /no-such-path], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-profiler}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: profiler}
subjects: [{kind: User, name: alice}]
`

// startProfiling starts a daemon with the tokens of alice and bob, the
// profiling policy and --profiling as given.
func startProfiling(t *testing.T, profiling bool) *Daemon {
	cfg := testConfig(t)
	cfg.Profiling = profiling
	cfg.Auth = AuthConfig{TokenAuthFile: writeTemp(t, "tokens.csv", "alice-t,alice,1\nbob-t,bob,2\n"),
		AuthorizationPolicyFile: writeTemp(t, "policy.yaml", profilingPolicy)}
	return startReady(t, t.Context(), cfg)
}

// getAs is GET path of d with token, without following redirects: the
// code, the Location header and the body.
func getAs(t *testing.T, d *Daemon, token, path string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.HTTPAddr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), strings.TrimSpace(string(b))
}

// TestDaemon_B160_ProfilingOff: without --profiling, /debug/pprof/ is the
// same 404 Status as any unknown path, even to a user allowed to read it.
func TestDaemon_B160_ProfilingOff(t *testing.T) {
	d := startProfiling(t, false)
	code, _, unknown := getAs(t, d, "alice-t", "/no-such-path")
	if code != http.StatusNotFound || !strings.Contains(unknown, `"reason":"NotFound"`) {
		t.Fatalf("unknown path: %d %s", code, unknown)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof", "/debug/pprof/heap", "/debug/pprof/profile"} {
		if code, _, body := getAs(t, d, "alice-t", p); code != http.StatusNotFound || body != unknown {
			t.Errorf("%s: %d %s\nwant 404 %s", p, code, body, unknown)
		}
	}
}

// TestDaemon_B160_ProfilingOn: with --profiling, alice (granted get of
// /debug/pprof/*) reads the index and a profile; bob gets kube-apiserver's
// 403 for the path; the bare prefix redirects to the index.
func TestDaemon_B160_ProfilingOn(t *testing.T) {
	d := startProfiling(t, true)
	if code, _, body := getAs(t, d, "alice-t", "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("alice index: %d %.200s", code, body)
	}
	if code, _, body := getAs(t, d, "alice-t", "/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.HasPrefix(body, "goroutine profile: total ") {
		t.Errorf("alice goroutine profile: %d %.200s", code, body)
	}
	if code, loc, _ := getAs(t, d, "alice-t", "/debug/pprof"); code != http.StatusFound || loc != "/debug/pprof/" {
		t.Errorf("alice /debug/pprof: %d Location %q, want 302 /debug/pprof/", code, loc)
	}
	const forbidden = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: ` +
		`User \"bob\" cannot get path \"/debug/pprof/\"","reason":"Forbidden","details":{},"code":403}`
	if code, _, body := getAs(t, d, "bob-t", "/debug/pprof/"); code != http.StatusForbidden || body != forbidden {
		t.Errorf("bob: %d %s\nwant 403 %s", code, body, forbidden)
	}
	if code, _, _ := getAs(t, d, "wrong-t", "/debug/pprof/"); code != http.StatusUnauthorized {
		t.Errorf("bad token: %d, want 401", code)
	}
}

// TestDaemon_B162_EmbeddedEtcdWarnings: the embedded etcd's warnings reach
// the daemon's log, marked component=etcd: etcd warns at every start that
// it serves HTTP and gRPC on one port; its info lines do not.
func TestDaemon_B162_EmbeddedEtcdWarnings(t *testing.T) {
	var logs lockedBuffer
	cfg := testConfig(t)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	startReady(t, t.Context(), cfg)
	const want = `level=WARN msg="Running http and grpc server on single port. This is not recommended for production." component=etcd`
	out := logs.String()
	if !strings.Contains(out, want) {
		t.Errorf("no %s in the log:\n%s", want, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "component=etcd") && !strings.Contains(l, "level=WARN") && !strings.Contains(l, "level=ERROR") {
			t.Errorf("etcd line below warn: %s", l)
		}
	}
}
