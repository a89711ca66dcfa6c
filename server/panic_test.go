package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// lockedBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// panicWatcher hands out its events, then panics in Next.
type panicWatcher struct{ *scriptWatcher }

func (w panicWatcher) Next(ctx context.Context) (api.WatchEvent, error) {
	if len(w.events) == 0 {
		panic("boom in Next")
	}
	return w.scriptWatcher.Next(ctx)
}

func panicOn(verb string) func(string) {
	return func(v string) {
		if v == verb {
			panic("boom in " + v)
		}
	}
}

var internalErrorBody = status(500, "InternalError", msgInternal, "")

// B90: a handler that panics answers 500 InternalError, logs the panic
// once with its stack, counts it, and the server keeps serving; a watch
// whose stream started ends with one ERROR 500 event after its events.
func TestPanic_B90_HTTP(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	f := newFixture(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	a := add(t, f.pods, "default", "a", nil)
	const path = "/api/v1/namespaces/default/pods/a"

	f.pods.setHook(panicOn("get"))
	f.do(t, http.MethodGet, path, "").expect(t, 500, internalErrorBody)
	if n, out := strings.Count(logs.String(), "panic serving request"), logs.String(); n != 1 ||
		!strings.Contains(out, "boom in get") || !strings.Contains(out, "panic_test.go") {
		t.Fatalf("want one log line with the panic and its stack, got %d:\n%s", n, out)
	}
	f.pods.setHook(nil)
	f.do(t, http.MethodGet, path, "").expect(t, 200, string(a.Raw))

	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return panicWatcher{newScriptWatcher([]api.WatchEvent{{Type: api.Added, Object: a, RV: a.RV}}, nil)}, nil
	})
	r := f.do(t, http.MethodGet, "/api/v1/namespaces/default/pods?watch=true", "")
	r.expect(t, 200, `{"type":"ADDED","object":`+string(a.Raw)+"}\n"+`{"type":"ERROR","object":`+internalErrorBody+"}")
	if got := testutil.ToFloat64(f.srv.metrics.panics.WithLabelValues("http")); got != 2 {
		t.Fatalf("watchcached_panics_total{frontend=http} = %v, want 2", got)
	}
}

// B90 over gRPC: a unary handler and a started watch stream that panic end
// with INTERNAL, the internal error's message and reason InternalError
// (code 500); the server keeps serving.
func TestPanic_B90_GRPC(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t)
	ctx := bg(t)
	a := add(t, f.pods, "default", "a", nil)
	wc := pb.NewWatchCacheClient(f.conn)
	check := func(what string, err error) {
		t.Helper()
		st := grpcstatus.Convert(err)
		if st.Code() != codes.Internal || st.Message() != msgInternal || len(st.Details()) != 1 {
			t.Fatalf("%s: %v, want INTERNAL %q with one detail", what, st, msgInternal)
		}
		info, ok := st.Details()[0].(*errdetails.ErrorInfo)
		if !ok || info.Reason != "InternalError" || info.Domain != GRPCErrorDomain || info.Metadata[GRPCMetaCode] != "500" {
			t.Fatalf("%s: details %v", what, st.Details())
		}
	}

	f.pods.setHook(panicOn("get"))
	_, err := wc.Get(ctx, &pb.GetRequest{Resource: podsPB, Namespace: "default", Name: "a"})
	check("unary", err)
	f.pods.setHook(nil)
	if got, err := wc.Get(ctx, &pb.GetRequest{Resource: podsPB, Namespace: "default", Name: "a"}); err != nil || string(got.Json) != string(a.Raw) {
		t.Fatalf("Get after the panic: %v %v", got, err)
	}

	f.pods.setHook(panicOn("watch")) // before the stream starts: the interceptor
	s, err := wc.Watch(ctx, &pb.WatchRequest{Resource: podsPB})
	if err == nil {
		_, err = s.Recv()
	}
	check("watch before start", err)
	f.pods.setHook(nil)

	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return panicWatcher{newScriptWatcher([]api.WatchEvent{{Type: api.Added, Object: a, RV: a.RV}}, nil)}, nil
	})
	s, err = wc.Watch(ctx, &pb.WatchRequest{Resource: podsPB})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := s.Recv(); err != nil || ev.Type != pb.EventType_EVENT_TYPE_ADDED {
		t.Fatalf("first event: %v %v", ev, err)
	}
	_, err = s.Recv()
	check("started watch", err)
	if got := testutil.ToFloat64(f.srv.metrics.panics.WithLabelValues("grpc")); got != 3 {
		t.Fatalf("watchcached_panics_total{frontend=grpc} = %v, want 3", got)
	}
}
