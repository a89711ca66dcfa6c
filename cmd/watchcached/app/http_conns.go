package app

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// httpConns counts the HTTP connections whose serving goroutine still
// runs, fed by http.Server.ConnState: http.Server.Shutdown closes idle
// connections and returns without waiting for their goroutines, so Close
// waits here for them to end. Safe for concurrent use.
type httpConns struct {
	mu   sync.Mutex
	n    int           // guarded by mu; connections accepted and not yet closed or hijacked
	none chan struct{} // guarded by mu; closed while n is 0, replaced when n leaves 0
}

func newHTTPConns() *httpConns {
	c := &httpConns{none: make(chan struct{})}
	close(c.none)
	return c
}

// state is the http.Server.ConnState hook. net/http calls it with
// StateNew before the connection's goroutine starts and with StateClosed
// or StateHijacked as the goroutine's last step.
func (c *httpConns) state(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.add(1)
	case http.StateClosed, http.StateHijacked:
		c.add(-1)
	}
}

func (c *httpConns) add(delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 && delta > 0 {
		c.none = make(chan struct{})
	}
	c.n += delta
	if c.n == 0 {
		close(c.none)
	}
}

// wait returns once no connection is open, or ctx's error when ctx ends
// first.
func (c *httpConns) wait(ctx context.Context) error {
	c.mu.Lock()
	none := c.none
	c.mu.Unlock()
	select {
	case <-none:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
