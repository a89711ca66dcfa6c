package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// deadlineStore records, per verb, whether the context a call of the real
// storage got had a deadline. Safe for concurrent use.
type deadlineStore struct {
	api.Storage
	mu   sync.Mutex
	seen map[string]bool // guarded by mu; verb -> had a deadline
}

func (d *deadlineStore) record(ctx context.Context, verb string) {
	_, ok := ctx.Deadline()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen[verb] = ok
}

func (d *deadlineStore) had(verb string) (deadline, called bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	deadline, called = d.seen[verb]
	return deadline, called
}

func (d *deadlineStore) Get(ctx context.Context, ns, name string, o api.GetOptions) (*api.Object, error) {
	d.record(ctx, verbGet)
	return d.Storage.Get(ctx, ns, name, o)
}

func (d *deadlineStore) List(ctx context.Context, o api.ListOptions) (*api.List, error) {
	d.record(ctx, verbList)
	return d.Storage.List(ctx, o)
}

func (d *deadlineStore) Create(ctx context.Context, ns string, body []byte) (*api.Object, error) {
	d.record(ctx, verbCreate)
	return d.Storage.Create(ctx, ns, body)
}

func (d *deadlineStore) Update(ctx context.Context, ns, name string, body []byte) (*api.Object, error) {
	d.record(ctx, verbUpdate)
	return d.Storage.Update(ctx, ns, name, body)
}

func (d *deadlineStore) Patch(ctx context.Context, ns, name string, patch api.Patch) (*api.Object, error) {
	d.record(ctx, verbPatch)
	return d.Storage.Patch(ctx, ns, name, patch)
}

func (d *deadlineStore) Delete(ctx context.Context, ns, name string, pre api.Preconditions) (*api.Object, error) {
	d.record(ctx, verbDelete)
	return d.Storage.Delete(ctx, ns, name, pre)
}

// TestDeadlines_EveryCallIsBounded_B63: every non-watch storage call, over HTTP and over gRPC,
// runs under a deadline even when the client sets none, so that a request
// to an unreachable etcd ends (504) instead of hanging.
func TestDeadlines_EveryCallIsBounded_B63(t *testing.T) {
	t.Parallel()
	// The server over one deadlineStore around the real store of pods.
	newDeadlineFixture := func(t *testing.T) (*fixture, *deadlineStore) {
		st := &deadlineStore{Storage: newStore(t, etcdtest.Start(t), podsRes), seen: map[string]bool{}}
		f := &fixture{}
		f.srv, f.ts = serve(t, Config{Storages: []api.Storage{st}, Logger: quietLog})
		return f, st
	}
	check := func(t *testing.T, st *deadlineStore) {
		t.Helper()
		for _, verb := range []string{verbGet, verbList, verbCreate, verbUpdate, verbPatch, verbDelete} {
			if deadline, called := st.had(verb); !called || !deadline {
				t.Errorf("%s: called %v, with a deadline %v", verb, called, deadline)
			}
		}
	}
	t.Run("HTTP", func(t *testing.T) {
		f, st := newDeadlineFixture(t)
		const pods = "/api/v1/namespaces/ns1/pods"
		f.do(t, http.MethodPost, pods, podBody).expectCode(t, 201)
		f.do(t, http.MethodGet, pods+"/web", "").expectCode(t, 200)
		f.do(t, http.MethodGet, pods, "").expectCode(t, 200)
		f.do(t, http.MethodPut, pods+"/web", podBody).expectCode(t, 200)
		f.do(t, http.MethodPatch, pods+"/web", `{}`, "Content-Type", string(api.MergePatch)).expectCode(t, 200)
		f.do(t, http.MethodDelete, pods+"/web", "").expectCode(t, 200)
		check(t, st)
	})
	t.Run("GRPC", func(t *testing.T) {
		f, st := newDeadlineFixture(t)
		gs, err := f.srv.NewGRPCServer()
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = gs.Serve(ln) }()
		defer gs.Stop()
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := pb.NewWatchCacheClient(conn)
		ctx := context.Background() // no client deadline
		steps := []func() error{
			func() error {
				_, err := c.Create(ctx, &pb.CreateRequest{Resource: podsPB, Namespace: "ns1", Json: []byte(podBody)})
				return err
			},
			func() error {
				_, err := c.Get(ctx, &pb.GetRequest{Resource: podsPB, Namespace: "ns1", Name: "web"})
				return err
			},
			func() error { _, err := c.List(ctx, &pb.ListRequest{Resource: podsPB}); return err },
			func() error {
				_, err := c.Update(ctx, &pb.UpdateRequest{Resource: podsPB, Namespace: "ns1", Name: "web", Json: []byte(podBody)})
				return err
			},
			func() error {
				_, err := c.Patch(ctx, &pb.PatchRequest{Resource: podsPB, Namespace: "ns1", Name: "web", MergePatch: []byte(`{}`)})
				return err
			},
			func() error {
				_, err := c.Delete(ctx, &pb.DeleteRequest{Resource: podsPB, Namespace: "ns1", Name: "web"})
				return err
			},
		}
		for i, step := range steps {
			if err := step(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		check(t, st)
	})
}
