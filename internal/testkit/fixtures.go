package testkit

import (
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// Store is a direct etcd store of res over the test etcd, closed by
// t.Cleanup. A nil logger discards the store's logs.
func Store(t testing.TB, etcd *etcdtest.Server, res *api.Resource, log *slog.Logger) *etcdstore.Store {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := etcdstore.New(etcdstore.Config{Client: etcd.Client, Resource: res, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// DialGRPC is a plain-text gRPC connection to addr, closed by t.Cleanup.
func DialGRPC(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
