package server

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// tooSlow is what a storage ends a too-slow reader's watch with (the
// etcdstore's direct watches do, B204): a 410 that also matches
// api.ErrTooSlow.
type tooSlow struct{ err *api.Error }

func (e tooSlow) Error() string        { return e.err.Message }
func (e tooSlow) Unwrap() error        { return e.err }
func (e tooSlow) Is(target error) bool { return target == api.ErrTooSlow }

// TestWatchTooSlow_B204: a watch that its storage ends as too slow ends
// with that 410 as its ERROR event (gRPC: OUT_OF_RANGE, reason Expired)
// after the events it had, and is counted as closed slow with reason
// buffer-full, per frontend.
func TestWatchTooSlow_B204(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t)
	a := add(t, f.pods, "ns1", "a", nil)
	const msg = "watch closed: the client is too slow, more than 1000 changes were waiting for it; relist"
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return newScriptWatcher([]api.WatchEvent{{Type: api.Added, Object: a, RV: a.RV}},
			tooSlow{api.Errorf(api.ErrExpired, msg)}), nil
	})
	_, r := f.stream(t, "/api/v1/namespaces/ns1/pods?watch=true")
	expectLines(t, r, true,
		`{"type":"ADDED","object":`+string(a.Raw)+`}`,
		`{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"`+msg+`","reason":"Expired","details":{"kind":"pods"},"code":410}}`,
	)
	ws, err := f.client.Watch(bg(t), &pb.WatchRequest{Resource: podsPB, Namespace: "ns1"})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := ws.Next(); err != nil || ev.ResourceVersion != a.RV {
		t.Fatalf("first gRPC event: %+v, %v", ev, err)
	}
	if _, err := ws.Next(); !errors.Is(err, api.ErrExpired) || err.Error() != msg {
		t.Fatalf("gRPC end: %v, want 410 %q", err, msg)
	}
	for _, frontend := range []string{"http", "grpc"} {
		if got := testutil.ToFloat64(f.srv.metrics.slow.WithLabelValues(frontend, slowReasonBuffer)); got != 1 {
			t.Errorf("closed slow{%s, buffer-full} = %v, want 1", frontend, got)
		}
	}
}
