package testkit

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// ConnGrace bounds how long VerifyTestMain waits for net/http connection
// goroutines that are still finishing after the servers and clients of the
// tests were closed. Generous on purpose: the machines that run the suite
// are shared and loaded, and only a failing run pays it.
const ConnGrace = 10 * time.Second

// connFuncs are the net/http functions that run one connection (server
// and client side), dial one in the background, or run a shutdown hook of
// http.Server: none of them is waited for by the call that ends it
// (http.Server.Shutdown and Close, embed.Etcd.Close, closing a
// connection), so they may outlive it by a scheduling delay.
var connFuncs = []string{
	"net/http.(*conn).serve",
	"net/http.(*persistConn).readLoop",
	"net/http.(*persistConn).writeLoop",
	"net/http.(*Transport).dialConnFor",
	"net/http.(*http2serverInternalState).startGracefulShutdown",
	"net/http.(*http2serverInternalState).startGracefulShutdown-fm",
}

// VerifyTestMain is goleak.VerifyTestMain with a bounded wait for
// connections being closed: it runs the tests and, when they passed,
// fails the run if a goroutine they started is still running (see
// FindLeaks). Call it from TestMain; it does not return.
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := FindLeaks(ConnGrace, opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// FindLeaks is goleak.Find (with its short retries), except that when the
// only goroutines left are net/http connection goroutines (connFuncs) it
// keeps looking for up to grace before it reports them: stopping an HTTP
// server or an embedded etcd closes its connections but returns before
// their goroutines have run to their end, which a loaded machine can
// delay past goleak's retries. Any other goroutine is reported at once,
// and a connection that stays open is still reported, after grace.
func FindLeaks(grace time.Duration, opts ...goleak.Option) error {
	deadline := time.Now().Add(grace)
	withoutConns := append([]goleak.Option(nil), opts...)
	for _, f := range connFuncs {
		withoutConns = append(withoutConns, goleak.IgnoreAnyFunction(f))
	}
	for {
		err := goleak.Find(opts...)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || goleak.Find(withoutConns...) != nil {
			return err
		}
	}
}
