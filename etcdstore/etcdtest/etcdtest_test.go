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

// TestCluster_KillRestart starts a 3-member cluster, writes through every
// member, kills the leader and a follower in turn and restarts them on
// their data directories: the data survives and the cluster serves again.
func TestCluster_KillRestart(t *testing.T) {
	c := StartCluster(t, 3)
	cl := c.NewClient(t)
	ctx := context.Background()
	put, err := cl.Put(ctx, "/k", "v1")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Leader()
	if l < 0 {
		t.Fatal("no leader")
	}
	c.Kill(l)
	if c.Running(l) {
		t.Fatal("killed member still runs")
	}
	if _, err := cl.Put(ctx, "/k", "v2"); err != nil {
		t.Fatalf("put with one member down: %v", err)
	}
	if err := c.Restart(l); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartAll(); err != nil {
		t.Fatal(err)
	}
	for i := range c.Size() {
		one := c.NewClient(t, c.Member(i).ClientURL)
		got, err := one.Get(ctx, "/k")
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v2" || got.Kvs[0].ModRevision != put.Header.Revision+1 {
			t.Fatalf("member %d: got %v, want v2 at revision %d", i, got.Kvs, put.Header.Revision+1)
		}
	}
}
