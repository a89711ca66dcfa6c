package testkit

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { VerifyTestMain(m) }

// serverConn returns the client end of a connection that an http.Server
// has accepted and serves (waiting for a request), with the server's
// accept loop already stopped: the only goroutine left is the server's
// connection goroutine, which ends once the returned conn is closed.
func serverConn(t *testing.T) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 1)
	srv := &http.Server{ReadHeaderTimeout: time.Minute, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted <- struct{}{}
		}
	}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-accepted:
	case <-time.After(WaitLimit):
		t.Fatal("the server did not accept the connection")
	}
	_ = ln.Close()
	if err := <-served; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve: %v", err)
	}
	return c
}

// B259: a server connection goroutine still finishing after goleak's own
// retries (its client closes it 2 s later) is waited for, not reported.
func TestFindLeaks_B259_WaitsForClosingConnection(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	c := serverConn(t)
	time.AfterFunc(2*time.Second, func() { _ = c.Close() })
	start := time.Now()
	if err := FindLeaks(ConnGrace, ignore); err != nil {
		t.Fatalf("FindLeaks: %v", err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("FindLeaks returned after %v, before the connection was closed", d)
	}
}

// B259: a goroutine that is not a connection's is reported without the
// grace, even while a connection is also open.
func TestFindLeaks_B259_OtherGoroutineReportedAtOnce(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	c := serverConn(t)
	block := make(chan struct{})
	go blockedForTest(block)
	const grace = time.Minute
	start := time.Now()
	err := FindLeaks(grace, ignore)
	d := time.Since(start)
	close(block)
	_ = c.Close()
	if err == nil || !strings.Contains(err.Error(), "testkit.blockedForTest") {
		t.Fatalf("FindLeaks = %v, want the blocked goroutine reported", err)
	}
	if d >= grace/2 {
		t.Fatalf("FindLeaks took %v: it waited for the grace", d)
	}
	if err := FindLeaks(ConnGrace, ignore); err != nil {
		t.Fatalf("after the goroutine ended: %v", err)
	}
}

func blockedForTest(c chan struct{}) { <-c }

// B259: a connection that stays open is reported once the grace is over.
func TestFindLeaks_B259_OpenConnectionReportedAfterGrace(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	c := serverConn(t)
	const grace = 1500 * time.Millisecond
	start := time.Now()
	err := FindLeaks(grace, ignore)
	d := time.Since(start)
	_ = c.Close()
	if err == nil || !strings.Contains(err.Error(), "net/http.(*conn).serve") {
		t.Fatalf("FindLeaks = %v, want the open connection's goroutine reported", err)
	}
	if d < grace {
		t.Fatalf("FindLeaks reported after %v, before the grace of %v", d, grace)
	}
	if err := FindLeaks(ConnGrace, ignore); err != nil {
		t.Fatalf("after the connection was closed: %v", err)
	}
}
