package faults

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// refEvent is one etcd event of etcd's own history, with the previous
// state of its key taken from the recorder's replay (not from prevKV,
// which etcd may omit).
type refEvent struct {
	rev  uint64
	key  string
	id   string // obj.key() of the object
	prev *obj   // nil when the key did not exist
	cur  *obj   // nil for a delete
}

// history records etcd's own history under the prefix live, from a start
// revision, with a dedicated watch on direct (unproxied) connections to
// every member; it resumes after failures from the last revision it saw.
// The compactor never compacts at or above last()-1, so the resumption is
// never compacted. Safe for concurrent use.
type history struct {
	cl    *clientv3.Client
	start uint64

	mu     sync.Mutex
	events []refEvent      // guarded by mu
	state  map[string]*obj // guarded by mu; the state after events
	init   map[string]*obj // the state at start; read-only
	err    error           // guarded by mu; a failure of the recorder
	last   uint64          // guarded by mu; revision of the last event
	waitc  chan struct{}   // guarded by mu; closed and replaced on progress
	done   chan struct{}
}

// startHistory reads the state at the current revision and records every
// later event until ctx ends.
func startHistory(ctx context.Context, cl *clientv3.Client) (*history, error) {
	resp, err := cl.Get(ctx, etcdPrefix+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	h := &history{cl: cl, start: uint64(resp.Header.Revision), state: map[string]*obj{}, init: map[string]*obj{},
		waitc: make(chan struct{}), done: make(chan struct{})}
	h.last = h.start
	for _, kv := range resp.Kvs {
		o, ok, err := decodeKV(kv)
		if err != nil {
			return nil, err
		}
		if ok {
			h.state[o.key()], h.init[o.key()] = o, o
		}
	}
	go h.run(ctx)
	return h, nil
}

func decodeKV(kv *mvccpb.KeyValue) (*obj, bool, error) {
	res, ok := resourceOfKey(string(kv.Key))
	if !ok {
		return nil, false, nil
	}
	o, err := decodeObj(res, kv.Value)
	return o, err == nil, err
}

func (h *history) run(ctx context.Context) {
	defer close(h.done)
	for ctx.Err() == nil {
		h.mu.Lock()
		from := h.last + 1
		h.mu.Unlock()
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := h.cl.Watch(wctx, etcdPrefix+"/", clientv3.WithPrefix(), clientv3.WithRev(int64(from)))
		err := h.consume(wch)
		cancel()
		if err != nil {
			h.fail(err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // the client's retry pace
		}
	}
}

// consume applies watch responses until the watch ends; an error means the
// history cannot be trusted (compacted, undecodable).
func (h *history) consume(wch clientv3.WatchChan) error {
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("reference history compacted at %d", resp.CompactRevision)
		}
		if resp.Err() != nil {
			return nil // no leader, cancelled: resume
		}
		h.mu.Lock()
		for _, ev := range resp.Events {
			if err := h.apply(ev); err != nil {
				h.mu.Unlock()
				return err
			}
		}
		close(h.waitc)
		h.waitc = make(chan struct{})
		h.mu.Unlock()
	}
	return nil
}

// apply records one event. etcd sends whole revisions in one response
// (without fragmentation), so a resumption from last+1 loses nothing.
// Caller holds mu.
func (h *history) apply(ev *clientv3.Event) error {
	rev := uint64(ev.Kv.ModRevision)
	if rev < h.last {
		return fmt.Errorf("reference history: revision %d after %d", rev, h.last)
	}
	res, ok := resourceOfKey(string(ev.Kv.Key))
	if !ok {
		return nil
	}
	e := refEvent{rev: rev, key: string(ev.Kv.Key)}
	if ev.Type == mvccpb.PUT {
		o, err := decodeObj(res, ev.Kv.Value)
		if err != nil {
			return err
		}
		e.cur = o
	}
	id := res + ":" + keyTail(e.key, res)
	e.id, e.prev = id, h.state[id]
	if e.cur != nil {
		h.state[id] = e.cur
	} else {
		delete(h.state, id)
	}
	h.events = append(h.events, e)
	h.last = rev
	return nil
}

// keyTail is "ns/name" of a key of res.
func keyTail(key, res string) string { return key[len(etcdPrefix)+len(res)+2:] }

func (h *history) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
	close(h.waitc)
	h.waitc = make(chan struct{})
}

// lastRev is the revision of the last recorded event.
func (h *history) lastRev() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// waitFor blocks until the history holds rev (or later), fails, or the
// deadline passes.
func (h *history) waitFor(rev uint64, d time.Duration) error {
	deadline := time.After(d)
	for {
		h.mu.Lock()
		last, err, wc := h.last, h.err, h.waitc
		h.mu.Unlock()
		switch {
		case err != nil:
			return err
		case last >= rev:
			return nil
		}
		select {
		case <-wc:
		case <-deadline:
			return fmt.Errorf("reference history at %d, not at %d after %v", last, rev, d)
		}
	}
}

// snapshot returns the events recorded so far (the slice is never
// modified in place, only appended to).
func (h *history) snapshot() []refEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[:len(h.events):len(h.events)]
}

// stateAt is the state at revision rev (>= start), replayed from the
// initial state.
func (h *history) stateAt(events []refEvent, rev uint64) map[string]*obj {
	st := make(map[string]*obj, len(h.init))
	for k, o := range h.init {
		st[k] = o
	}
	for _, e := range events {
		if e.rev > rev {
			break
		}
		if e.cur != nil {
			st[e.id] = e.cur
		} else {
			delete(st, e.id)
		}
	}
	return st
}
