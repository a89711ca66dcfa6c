package server

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

var tooManyBody = status(429, "TooManyRequests", "Too many requests, please try again later.", `{"retryAfterSeconds":1}`)

// blockOn makes st's verb block until the returned release is called;
// entered is closed when a request is inside.
func blockOn(t *testing.T, st *testStore, verb string) (entered <-chan struct{}, release func()) {
	in, out := make(chan struct{}), make(chan struct{})
	var once sync.Once
	st.setHook(func(v string) {
		if v != verb {
			return
		}
		once.Do(func() { close(in) })
		<-out
	})
	released := false
	release = func() {
		if !released {
			released = true
			st.setHook(nil)
			close(out)
		}
	}
	t.Cleanup(release)
	return in, release
}

// openWatch starts an HTTP watch and returns its status code; the stream
// stays open until the test ends.
func openWatch(t *testing.T, f *fixture, path string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return resp.StatusCode
}

func expectTooMany(t *testing.T, r response) {
	t.Helper()
	r.expect(t, 429, tooManyBody)
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
}

// waitEntered waits for ch with a deadline.
func waitEntered(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("request never reached the storage")
	}
}

// B93: with every limit at 1, a read blocked in the storage makes the
// next read a 429 with kube-apiserver's message and Retry-After: 1, while
// a watch (not in flight) and a write (its own limit) are admitted; a
// second watch and a second write are refused the same way; health and
// metrics are never refused; a freed slot admits again.
func TestAdmission_B93_HTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) {
		c.Limits = Limits{MaxRequestsInflight: 1, MaxMutatingRequestsInflight: 1, MaxWatches: 1}
	})
	add(t, f.pods, "default", "a", nil)
	entered, release := blockOn(t, f.pods, "get")
	first := make(chan response, 1)
	go func() { first <- f.do(t, http.MethodGet, "/api/v1/namespaces/default/pods/a", "") }()
	waitEntered(t, entered)

	expectTooMany(t, f.do(t, http.MethodGet, "/api/v1/nodes", ""))
	f.do(t, http.MethodGet, "/readyz", "").expectCode(t, 200)
	f.do(t, http.MethodGet, "/metrics", "").expectCode(t, 200)
	if code := openWatch(t, f, "/api/v1/nodes?watch=true"); code != 200 {
		t.Fatalf("watch while reads are full: %d, want 200", code)
	}
	expectTooMany(t, f.do(t, http.MethodGet, "/api/v1/pods?watch=true", ""))
	f.do(t, http.MethodPost, "/api/v1/nodes", `{"metadata":{"name":"n1"}}`).expectCode(t, 201)

	wentered, wrelease := blockOn(t, f.nodes, "create")
	firstWrite := make(chan response, 1)
	go func() { firstWrite <- f.do(t, http.MethodPost, "/api/v1/nodes", `{"metadata":{"name":"n2"}}`) }()
	waitEntered(t, wentered)
	expectTooMany(t, f.do(t, http.MethodDelete, "/api/v1/namespaces/default/pods/a", ""))
	wrelease()
	(<-firstWrite).expectCode(t, 201)

	release()
	(<-first).expectCode(t, 200)
	f.do(t, http.MethodGet, "/api/v1/nodes/n1", "").expectCode(t, 200)
	for kind, want := range map[string]float64{kindReadOnly: 1, kindMutating: 1, kindWatch: 1} {
		if got := testutil.ToFloat64(f.srv.admission.gates[kind].dropped); got != want {
			t.Errorf("dropped{%s} = %v, want %v", kind, got, want)
		}
	}
	if got := testutil.ToFloat64(f.srv.admission.gates[kindWatch].inflight); got != 1 {
		t.Errorf("inflight{watch} = %v, want 1", got)
	}
}

// B93 over gRPC: the limits are the server's, shared with HTTP; a refused
// call is UNAVAILABLE with kube-apiserver's message, reason
// TooManyRequests (code 429) and a RetryInfo of 1 s.
func TestAdmission_B93_GRPC(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t, func(c *Config) { c.Limits = Limits{MaxRequestsInflight: 1, MaxWatches: 1} })
	add(t, f.pods, "default", "a", nil)
	ctx := bg(t)
	wc := pb.NewWatchCacheClient(f.conn)
	check := func(what string, err error) {
		t.Helper()
		st := grpcstatus.Convert(err)
		if st.Code() != codes.Unavailable || st.Message() != msgTooManyRequests {
			t.Fatalf("%s: %v", what, st)
		}
		info, retry := grpcDetails(st)
		if info == nil || info.Reason != "TooManyRequests" || info.Metadata[GRPCMetaCode] != "429" ||
			retry == nil || retry.RetryDelay.AsDuration() != time.Second {
			t.Fatalf("%s: details %v", what, st.Details())
		}
	}
	entered, release := blockOn(t, f.pods, "get")
	first := make(chan response, 1)
	go func() { first <- f.do(t, http.MethodGet, "/api/v1/namespaces/default/pods/a", "") }()
	waitEntered(t, entered)
	_, err := wc.List(ctx, &pb.ListRequest{Resource: podsPB})
	check("list", err)

	if code := openWatch(t, f.fixture, "/api/v1/pods?watch=true"); code != 200 {
		t.Fatalf("HTTP watch: %d", code)
	}
	s, err := wc.Watch(ctx, &pb.WatchRequest{Resource: podsPB})
	if err == nil {
		_, err = s.Recv()
	}
	check("watch", err)
	release()
	(<-first).expectCode(t, 200)
	if _, err := wc.List(ctx, &pb.ListRequest{Resource: podsPB}); err != nil {
		t.Fatalf("list after release: %v", err)
	}
}
