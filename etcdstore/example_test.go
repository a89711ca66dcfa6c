package etcdstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

func ExampleStore_Decode() {
	s := etcdstore.CodecOnly(&api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true})
	obj, err := s.Decode("/registry/pods/default/web-0", []byte(`{"metadata": {"name": "web-0", "namespace": "default"}}`), 42)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(obj.Raw))
	fmt.Println(string(obj.WithRV(43).Raw))
	// Output:
	// {"apiVersion":"v1","kind":"Pod","metadata":{"resourceVersion":"42","name":"web-0","namespace":"default"}}
	// {"apiVersion":"v1","kind":"Pod","metadata":{"resourceVersion":"43","name":"web-0","namespace":"default"}}
}

// B63: with etcd unreachable, reads and writes fail with a clear
// ErrTimeout (or ErrUnavailable), never hang past their context.
func TestUnreachable_CallsFailWithinTheirContext_B63(t *testing.T) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://127.0.0.1:1"}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := etcdstore.New(etcdstore.Config{Client: c, Resource: testkit.Pods(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Get(ctx, "ns", "p", api.GetOptions{})
	checkDown(t, err)
	_, err = s.Create(ctx, "ns", testkit.PodJSON("ns", "p", "", nil))
	checkDown(t, err)
	_, err = s.List(ctx, api.ListOptions{})
	checkDown(t, err)
}

func checkDown(t *testing.T, err error) {
	t.Helper()
	if ae := api.AsError(err); ae == nil || (ae.Err != api.ErrTimeout && ae.Err != api.ErrUnavailable) {
		t.Fatalf("got %v, want ErrTimeout or ErrUnavailable", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	for _, c := range []etcdstore.Config{
		{},
		{Client: &clientv3.Client{}},
		{Client: &clientv3.Client{}, Resource: &api.Resource{Resource: "Pods"}},
		{Client: &clientv3.Client{}, Resource: testkit.Pods(), Prefix: "registry"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
