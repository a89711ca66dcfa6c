package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// etcd omits an event's previous value when it cannot read the key at
// mod_revision-1, as right after a compaction at the event's revision. Such
// a watch ends with a 410 that also matches ErrMissingPrev (the cache then
// relists), for an update and for a delete alike, on the raw watch and on
// a client's watch straight from etcd.
func TestWatch_MissingPrevKVEndsWith410(t *testing.T) {
	for _, change := range []string{"update", "delete"} {
		t.Run(change, func(t *testing.T) {
			e := newEnv(t, nil)
			o := e.create("ns", "a", "n1", nil)
			var rev uint64
			if change == "update" {
				rev = e.put("/registry/pods/ns/a", string(testkit.PodJSON("ns", "a", "n2", nil)))
			} else {
				resp, err := e.etcd.Client.Delete(e.ctx, "/registry/pods/ns/a")
				if err != nil {
					t.Fatal(err)
				}
				rev = uint64(resp.Header.Revision)
			}
			if err := e.s.Compact(e.ctx, rev); err != nil { // the value at o.RV is gone
				t.Fatal(err)
			}
			msg := fmt.Sprintf("etcd sent the change of %q at revision %d without its previous value; relist",
				"/registry/pods/ns/a", rev)
			var results []api.SourceBatch
			ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
			defer cancel()
			for r := range e.s.WatchEvents(ctx, rev) {
				results = append(results, r)
			}
			if len(results) != 1 || !errors.Is(results[0].Err, api.ErrMissingPrev) {
				t.Fatalf("raw watch from %d (object at %d): %+v", rev, o.RV, results)
			}
			if ae := wantErr(t, results[0].Err, api.ErrExpired); ae.Message != msg {
				t.Fatalf("message %q, want %q", ae.Message, msg)
			}
			w, err := e.s.Watch(e.ctx, api.WatchOptions{ResourceVersion: api.FormatRV(rev - 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			ev, err := w.Next(e.ctx)
			if ae := wantErr(t, err, api.ErrExpired); ae.Message != msg {
				t.Fatalf("watch from %d: %+v, %q", rev-1, ev, ae.Message)
			}
		})
	}
}

// CompactRevision learns etcd's compacted revision: the known one while
// etcd has not compacted past it, the new one after a compaction.
func TestCompactRevision(t *testing.T) {
	e := newEnv(t, nil)
	if rev, err := e.s.CompactRevision(e.ctx, 0); err != nil || rev != 0 {
		t.Fatalf("never compacted: %d, %v", rev, err)
	}
	e.create("ns", "a", "n1", nil)
	e.create("ns", "b", "n1", nil)
	c := e.rev()
	if err := e.s.Compact(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	if rev, err := e.s.CompactRevision(e.ctx, 0); err != nil || rev != c {
		t.Fatalf("after compacting at %d: %d, %v", c, rev, err)
	}
	if rev, err := e.s.CompactRevision(e.ctx, c); err != nil || rev != c {
		t.Fatalf("known %d: %d, %v", c, rev, err)
	}
}
