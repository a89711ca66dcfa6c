package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// canceled is a context that has ended: wait on it returns at once, nil
// when no connection is open and context.Canceled otherwise.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// B259: the count follows the connection states net/http reports; wait
// blocks while a connection is open and returns once none is.
func TestHTTPConns_B259_CountsStates(t *testing.T) {
	c := newHTTPConns()
	if err := c.wait(context.Background()); err != nil {
		t.Fatalf("no connection: %v", err)
	}
	c.state(nil, http.StateNew)
	c.state(nil, http.StateNew)
	c.state(nil, http.StateActive)
	c.state(nil, http.StateIdle)
	c.state(nil, http.StateClosed)
	if err := c.wait(canceled()); !errors.Is(err, context.Canceled) {
		t.Fatalf("one connection open: wait = %v, want context.Canceled", err)
	}
	c.state(nil, http.StateHijacked)
	if err := c.wait(context.Background()); err != nil {
		t.Fatalf("all closed or hijacked: %v", err)
	}
	c.state(nil, http.StateNew)
	if err := c.wait(canceled()); !errors.Is(err, context.Canceled) {
		t.Fatalf("a new connection: wait = %v, want context.Canceled", err)
	}
	c.state(nil, http.StateClosed)
	if err := c.wait(context.Background()); err != nil {
		t.Fatalf("closed again: %v", err)
	}
}

// B259: the daemon's HTTP server reports its connections to the count, and
// Close returns once the goroutines of the connections it closed (an idle
// keep-alive one here) have ended.
func TestDaemon_B259_CloseWaitsForHTTPConns(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	d, err := Start(ctx, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close(context.Background()) }()
	if err := d.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := net.Dial("tcp", d.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	waitConns(t, d.httpConns, 1)
	_ = raw.Close()
	waitConns(t, d.httpConns, 0)

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://" + d.HTTPAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}
	waitConns(t, d.httpConns, 1) // kept alive by hc, idle on the server
	if err := d.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := openHTTPConns(d.httpConns); n != 0 {
		t.Fatalf("after Close: %d HTTP connections still served", n)
	}
}

func openHTTPConns(c *httpConns) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitConns waits until n connections are counted.
func waitConns(t *testing.T, c *httpConns, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for openHTTPConns(c) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d HTTP connections counted, want %d", openHTTPConns(c), n)
		}
		time.Sleep(5 * time.Millisecond) // poll
	}
}
