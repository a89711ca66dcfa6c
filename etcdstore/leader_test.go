package etcdstore_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/internal/testkit"
)

// A watch on a member that has lost its cluster (here: both peers stopped,
// so it has no leader) fails instead of waiting silently forever: the
// store's watches require a leader, so the reader (the cache's reflector)
// resumes, on a member that has one.
func TestWatchEvents_NoLeaderFailsTheWatch(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	cl := c.NewClient(t, c.Endpoints()[0])
	s, err := etcdstore.New(etcdstore.Config{Client: cl, Resource: testkit.Pods(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results := s.WatchEvents(ctx, rev+1)
	c.Kill(1)
	c.Kill(2)
	defer func() { // stop a whole cluster at cleanup, as after any test
		for _, i := range []int{1, 2} {
			if err := c.Restart(i); err != nil {
				t.Errorf("restart member %d: %v", i, err)
			}
		}
	}()
	for r := range results {
		if r.Err != nil {
			if !errors.Is(r.Err, api.ErrUnavailable) || ctx.Err() != nil {
				t.Fatalf("watch ended with %v, want unavailable (no leader)", r.Err)
			}
			return
		}
	}
	t.Fatalf("watch on a member without a leader ended without an error: %v", ctx.Err())
}
