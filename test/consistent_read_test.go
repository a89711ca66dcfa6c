package test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/test/conformance"
)

// TestConsistentRead_B1_B54_Coalesced: 100 consistent Gets and Lists
// issued together right after a write all see it (B54, read-your-writes
// through the cache), and they share revision requests to etcd rather
// than send one each (B1: "one quorum request, shared by every request
// that arrived before it was sent"). Cache-only: etcdstore has no
// revision requests to count.
func TestConsistentRead_B1_B54_Coalesced(t *testing.T) {
	const readers = 100
	res := conformance.Pods()
	srv, st := newStore(t, res)
	c := newCacher(t, st, func(cfg *cacher.Config) { cfg.FreshnessTimeout = 0 }) // the default 3 s
	ctx := context.Background()
	for round := range 4 {
		name := fmt.Sprintf("p%d", round)
		var rv uint64
		if round%2 == 0 {
			o, err := c.Create(ctx, "default", testkit.PodJSON("default", name, "n1", nil))
			if err != nil {
				t.Fatal(err)
			}
			rv = o.RV
		} else { // behind the cache's back: it cannot know about this write
			resp, err := srv.Client.Put(ctx, res.Key("/registry", "default", name), string(testkit.PodJSON("default", name, "n1", nil)))
			if err != nil {
				t.Fatal(err)
			}
			rv = uint64(resp.Header.Revision)
		}
		before := c.RevisionRequests()
		errs := readTogether(c, readers, name, rv)
		for _, err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		sent := c.RevisionRequests() - before
		t.Logf("round %d: %d consistent reads sent %d revision requests", round, readers, sent)
		if sent == 0 || sent > 20 {
			t.Fatalf("round %d: %d revision requests for %d consistent reads, want 1..20", round, sent, readers)
		}
	}
}

// readTogether releases n consistent reads at once (half Gets, half
// Lists) of the object name, which must show revision rv.
func readTogether(c *cacher.Cacher, n int, name string, rv uint64) []error {
	ctx := context.Background()
	start := make(chan struct{})
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errc <- consistentRead(ctx, c, i%2 == 0, name, rv)
		}()
	}
	close(start)
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func consistentRead(ctx context.Context, c *cacher.Cacher, get bool, name string, rv uint64) error {
	if get {
		o, err := c.Get(ctx, "default", name, api.GetOptions{})
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		if o.RV != rv {
			return fmt.Errorf("get: %s@%d, want @%d", o.Name, o.RV, rv)
		}
		return nil
	}
	p, err := api.ParsePredicate("", "metadata.name="+name, c.Resource().SelectableFields)
	if err != nil {
		return err
	}
	l, err := c.List(ctx, api.ListOptions{Namespace: "default", Predicate: p})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if len(l.Items) != 1 || l.Items[0].RV != rv || l.RV < rv {
		return fmt.Errorf("list at %d: %d items, want %s@%d", l.RV, len(l.Items), name, rv)
	}
	return nil
}
