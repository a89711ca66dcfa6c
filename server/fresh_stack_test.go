package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// goroutineID is the current goroutine's number, from its stack header.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	return strings.Fields(string(buf))[1]
}

// TestOnFreshStack_B252: f runs on another goroutine, its error is
// returned and its panic re-raised on the caller's.
func TestOnFreshStack_B252(t *testing.T) {
	me := goroutineID()
	var ran string
	want := errors.New("from f")
	if err := onFreshStack(func() error { ran = goroutineID(); return want }); err != want {
		t.Fatalf("error %v, want %v", err, want)
	}
	if ran == "" || ran == me {
		t.Fatalf("f ran on goroutine %q, the caller is %q", ran, me)
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want boom", p)
		}
	}()
	_ = onFreshStack(func() error { panic("boom") })
	t.Fatal("no panic")
}

// idleStackWatches is how many idle watches TestIdleWatchStack_B252 opens.
const idleStackWatches = 200

// TestIdleWatchStack_B252: an idle HTTP/1.1 watch costs the server at
// most 12 KiB of goroutine stacks (its handler's 8 KiB, net/http's
// connection reader's 2-4 KiB) once collections have shrunk what they
// can; writing the response header on the handler's own goroutine grew
// its stack to 16 KiB for the whole watch. Not parallel: it reads the
// process's stacks in use.
func TestIdleWatchStack_B252(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: instrumented frames are larger, stack sizes are not the product's")
	}
	f := newFixture(t)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return &idleWatcher{scriptWatcher: newScriptWatcher(nil, nil)}, nil
	})
	before := stacksInUse()
	conns := make([]net.Conn, 0, idleStackWatches)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range idleStackWatches {
		c, err := net.Dial("tcp", f.ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Write([]byte("GET /api/v1/namespaces/ns1/pods?watch=true HTTP/1.1\r\nHost: t\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200 ") {
			t.Fatalf("watch answered %q, %v", line, err)
		}
	}
	per := (stacksInUse() - before) / idleStackWatches
	t.Logf("%d B of goroutine stacks per idle watch", per)
	if per > 12<<10 {
		t.Fatalf("%d B of goroutine stacks per idle watch, want at most %d", per, 12<<10)
	}
}

// stacksInUse is the process's goroutine stack bytes after collections
// (each may halve a stack that uses less than a quarter of itself).
func stacksInUse() int64 {
	var m runtime.MemStats
	for range 4 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return int64(m.StackInuse)
}
