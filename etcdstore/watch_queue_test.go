package etcdstore_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

// TestDirectWatch_B204_SlowReaderExpires: a watch straight from etcd whose
// reader takes nothing while 10,000 changes are written (100
// transactions of 100 puts) cancels its etcd watch once its queue of 100
// events is full, so neither it nor etcd's client keeps buffering; the
// reader then gets the events held, the first ones in exact order, and a
// 410 Expired that matches api.ErrTooSlow, then io.EOF.
func TestDirectWatch_B204_SlowReaderExpires(t *testing.T) {
	e := newEnv(t, nil)
	s, err := etcdstore.New(etcdstore.Config{Client: e.etcd.Client, Resource: testkit.Pods(), DirectWatchBuffer: 100,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	start := e.rev()
	w, err := s.Watch(e.ctx, api.WatchOptions{ResourceVersion: api.FormatRV(start)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for txn := range 100 {
		ops := make([]clientv3.Op, 100)
		for i := range ops {
			name := fmt.Sprintf("p%05d", txn*100+i)
			ops[i] = clientv3.OpPut(s.KeyPrefix()+"ns/"+name, string(testkit.PodJSON("ns", name, "n1", nil)))
		}
		if _, err := e.etcd.Client.Txn(e.ctx).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-etcdstore.DirectWatchEnded(w):
	case <-time.After(10 * time.Second):
		t.Fatal("the etcd watch of a reader that takes nothing was not cancelled")
	}
	got := 0
	for {
		ev, err := w.Next(e.ctx)
		if err != nil {
			want := "watch closed: the client is too slow, more than 100 changes were waiting for it; relist"
			if !errors.Is(err, api.ErrExpired) || !errors.Is(err, api.ErrTooSlow) || err.Error() != want {
				t.Fatalf("after %d events: %v, want a 410 %q", got, err, want)
			}
			break
		}
		wantName, wantRV := fmt.Sprintf("ns/p%05d", got), start+1+uint64(got/100)
		if ev.Type != api.Added || ev.Object.Namespace+"/"+ev.Object.Name != wantName || ev.RV != wantRV {
			t.Fatalf("event %d: %s %s/%s at %d, want ADDED %s at %d", got, ev.Type, ev.Object.Namespace, ev.Object.Name, ev.RV, wantName, wantRV)
		}
		got++
	}
	if got == 0 || got > 100 {
		t.Errorf("%d events before the 410, want 1..100", got)
	}
	if _, err := w.Next(e.ctx); err != io.EOF {
		t.Errorf("after the 410: %v, want the end", err)
	}
}
