package etcdtest

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

func TestStartPutGet(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	put, err := s.Client.Put(ctx, "/k", "v")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Client.Get(ctx, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v" || got.Kvs[0].ModRevision != put.Header.Revision {
		t.Fatalf("got %v, want v at revision %d", got.Kvs, put.Header.Revision)
	}
}
