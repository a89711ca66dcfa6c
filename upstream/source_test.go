package upstream_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/upstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer starts a watchcached (embedded etcd) to follow.
func startServer(t *testing.T) string {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.GRPCListen = ""
	cfg.DataDir = t.TempDir()
	cfg.FastEmbeddedEtcd = true
	cfg.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	d, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	if err := d.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return "http://" + d.HTTPAddr
}

// faultProxy forwards to target, but answers the first len(codes)
// requests with those codes (a Status body, no Retry-After), counting
// every request.
func faultProxy(t *testing.T, target string, codes ...int) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1) - 1
		if int(i) < len(codes) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(codes[i])
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected","code":` + itoa(codes[i]) + `}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func itoa(i int) string {
	return string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func newSource(t *testing.T, url string, retries int) *upstream.Source {
	t.Helper()
	s, err := upstream.New(upstream.Config{REST: &rest.Config{Host: url, QPS: -1},
		Resource:  &api.Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true},
		WatchList: upstream.WatchListOff, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Retries: retries,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRetry_B178_TooManyRequestsAnd5xx: a LIST answered 429, 503 and 500
// is sent again after a back-off until it succeeds.
func TestRetry_B178_TooManyRequestsAnd5xx(t *testing.T) {
	url, n := faultProxy(t, startServer(t), http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusInternalServerError)
	s := newSource(t, url, 5)
	objs, rv, err := s.ListAll(t.Context(), 100)
	if err != nil || len(objs) != 0 || rv == 0 {
		t.Fatalf("ListAll: %d objects at %d, err %v", len(objs), rv, err)
	}
	if got := n.Load(); got != 4 {
		t.Errorf("requests: %d, want 4 (three failures, then the answer)", got)
	}
}

// TestRetry_B178_GivesUp: after Retries failed attempts the upstream's
// last error is returned (ErrUnavailable, with its message); a 404 is
// never retried.
func TestRetry_B178_GivesUp(t *testing.T) {
	url, n := faultProxy(t, startServer(t), 503, 503, 503, 503)
	s := newSource(t, url, 3)
	_, _, err := s.ListAll(t.Context(), 100)
	if !errors.Is(err, api.ErrUnavailable) || err.Error() != "injected" {
		t.Fatalf("ListAll: %v, want ErrUnavailable \"injected\"", err)
	}
	if got := n.Load(); got != 3 {
		t.Errorf("requests: %d, want 3", got)
	}
	_, err = s.Get(t.Context(), "default", "none", api.GetOptions{})
	if !errors.Is(err, api.ErrNotFound) || err.Error() != `configmaps "none" not found` {
		t.Errorf("Get: %v, want ErrNotFound", err)
	}
	if got := n.Load(); got != 5 {
		t.Errorf("requests: %d, want 5 (the 4th failure, then the 404 once)", got)
	}
}
