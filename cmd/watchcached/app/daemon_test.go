package app

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.GRPCListen = ""
	cfg.DataDir = t.TempDir()
	cfg.FastEmbeddedEtcd = true
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

// signalHandler closes serving when the daemon logs that it serves.
type signalHandler struct {
	slog.Handler
	serving chan struct{}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "watchcached serving" {
		close(h.serving)
	}
	return nil
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDaemon_B64_StartServeClose starts the whole daemon on an embedded
// etcd, creates, lists and watches through HTTP, and shuts down with a
// watch still open: the watch ends cleanly and no goroutine is left
// (goleak in TestMain).
func TestDaemon_B64_StartServeClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	d, err := Start(ctx, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = d.Close(context.Background())
		}
	}()
	if err := d.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	base := "http://" + d.HTTPAddr

	if code, body := httpDo(t, http.MethodGet, base+"/readyz", ""); code != 200 || body != "ok" {
		t.Fatalf("readyz: %d %s", code, body)
	}
	code, created := httpDo(t, http.MethodPost, base+"/api/v1/namespaces/default/configmaps",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"},"data":{"k":"v"}}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, created)
	}
	code, list := httpDo(t, http.MethodGet, base+"/api/v1/configmaps", "")
	if code != 200 || !strings.HasPrefix(list, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"`) ||
		!strings.HasSuffix(strings.TrimSpace(list), `"items":[`+strings.TrimSpace(created)+`]}`) {
		t.Fatalf("list: %d %s", code, list)
	}
	if code, body := httpDo(t, http.MethodGet, base+"/apis/apps/v1", ""); code != 200 || !strings.Contains(body, `"name":"deployments"`) {
		t.Fatalf("discovery: %d %s", code, body)
	}

	// A watch from RV 0 gets the existing object as ADDED.
	resp, err := http.Get(base + "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	if err != nil || line != `{"type":"ADDED","object":`+strings.TrimSpace(created)+"}\n" {
		t.Fatalf("watch line %q, %v", line, err)
	}

	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true
	if rest, err := r.ReadString('\n'); err != io.EOF || rest != "" {
		t.Fatalf("after Close: %q, %v; want a clean end of stream", rest, err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestRun_StopsOnCancel: Run serves until its context is cancelled, then
// returns nil after a clean shutdown.
func TestRun_StopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cfg := testConfig(t)
	cfg.Resources = DefaultResources()[:1]
	serving := make(chan struct{})
	cfg.Logger = slog.New(signalHandler{Handler: slog.DiscardHandler, serving: serving})
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	select {
	case <-serving:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
	}
}

// TestStart_FailureUndoes: a start that fails after the embedded etcd is
// up (the HTTP address is taken) stops what it started.
func TestStart_FailureUndoes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	d, err := Start(ctx, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	cfg := testConfig(t)
	cfg.Listen = d.HTTPAddr
	if d2, err := Start(ctx, cfg); err == nil {
		_ = d2.Close(ctx)
		t.Fatal("second Start on the same address succeeded")
	} else if !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("error %v does not name --listen", err)
	}
}
