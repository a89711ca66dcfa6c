package test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// This file is the independent side of the randomized watch test: etcd's
// own history, read with a raw clientv3 watch and turned into what a
// watcher with a given selector must receive (B40), without any code of
// etcdstore, watchcache or cacher.

// podState is the part of a stored pod the test's selectors look at.
type podState struct {
	ns, name, node string
}

// rawEvent is one etcd event as the raw watch saw it (copied out of the
// protobuf message, which must not be copied by value).
type rawEvent struct {
	rev    uint64
	delete bool
	cur    *podState // nil for a delete
	prev   *podState // nil when the key did not exist before
}

func decodePod(value []byte) (*podState, error) {
	var p struct {
		Metadata struct{ Name, Namespace string }
		Spec     struct{ NodeName string }
	}
	if err := json.Unmarshal(value, &p); err != nil {
		return nil, fmt.Errorf("raw history: %v in %s", err, value)
	}
	return &podState{ns: p.Metadata.Namespace, name: p.Metadata.Name, node: p.Spec.NodeName}, nil
}

// rawHistory records every event under prefix from revision from (inclusive)
// until it has seen one at or above the target it is given, then hands
// the history over. The watch's context is the caller's.
type rawHistory struct {
	target chan uint64
	out    chan []rawEvent
	errs   chan error
}

func startRawHistory(ctx context.Context, c *clientv3.Client, prefix string, from uint64) *rawHistory {
	h := &rawHistory{target: make(chan uint64, 1), out: make(chan []rawEvent, 1), errs: make(chan error, 1)}
	wch := c.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(int64(from)), clientv3.WithPrevKV())
	go func() {
		var hist []rawEvent
		var target uint64
		for {
			select {
			case target = <-h.target:
			case resp, ok := <-wch:
				if !ok || resp.Err() != nil {
					h.errs <- fmt.Errorf("raw watch ended: ok=%v err=%v", ok, resp.Err())
					return
				}
				for _, ev := range resp.Events {
					r, err := convertRaw(ev)
					if err != nil {
						h.errs <- err
						return
					}
					hist = append(hist, r)
				}
			}
			if target > 0 && len(hist) > 0 && hist[len(hist)-1].rev >= target {
				h.out <- hist
				return
			}
		}
	}()
	return h
}

func convertRaw(ev *clientv3.Event) (rawEvent, error) {
	r := rawEvent{rev: uint64(ev.Kv.ModRevision), delete: ev.Type == mvccpb.Event_DELETE}
	var err error
	if !r.delete {
		if r.cur, err = decodePod(ev.Kv.Value); err != nil {
			return r, err
		}
	}
	if ev.PrevKv != nil {
		r.prev, err = decodePod(ev.PrevKv.Value)
	}
	return r, err
}

// wait returns the history up to target (inclusive).
func (h *rawHistory) wait(t *testing.T, target uint64) []rawEvent {
	t.Helper()
	h.target <- target
	select {
	case hist := <-h.out:
		return hist
	case err := <-h.errs:
		t.Fatal(err)
		return nil
	}
}

// filter is a watcher's selector: a namespace and/or a node ("" = any).
type filter struct{ ns, node string }

func (f filter) matches(p *podState) bool {
	return p != nil && (f.ns == "" || p.ns == f.ns) && (f.node == "" || p.node == f.node)
}

func (f filter) String() string {
	var s []string
	if f.ns != "" {
		s = append(s, "ns="+f.ns)
	}
	if f.node != "" {
		s = append(s, "node="+f.node)
	}
	if len(s) == 0 {
		return "all"
	}
	return strings.Join(s, ",")
}

// options is the watch a filter stands for, from RV from.
func (f filter) options(t *testing.T, res *api.Resource, from uint64) api.WatchOptions {
	opts := api.WatchOptions{Namespace: f.ns, ResourceVersion: api.FormatRV(from)}
	if f.node != "" {
		p, err := api.ParsePredicate("", "spec.nodeName="+f.node, res.SelectableFields)
		if err != nil {
			t.Fatal(err)
		}
		opts.Predicate = p
	}
	return opts
}

// render is the comparable form of one watch event: type, key, RV and the
// node of the object carried (which tells the previous state of a
// "stopped matching" DELETED from the new one).
func render(typ api.EventType, p *podState, rv uint64) string {
	return fmt.Sprintf("%s %s/%s@%d %s", typ, p.ns, p.name, rv, p.node)
}

func renderEvent(ev api.WatchEvent) string {
	o := ev.Object
	if o == nil {
		return fmt.Sprintf("%s@%d", ev.Type, ev.RV)
	}
	s := render(ev.Type, &podState{ns: o.Namespace, name: o.Name, node: o.Fields["spec.nodeName"]}, ev.RV)
	if o.RV != ev.RV {
		s += fmt.Sprintf(" (object RV %d)", o.RV)
	}
	return s
}

// expected is what a watcher with f started at from must receive (B40,
// B41): every event after from, transformed by f.
func expected(hist []rawEvent, from uint64, f filter) []string {
	var out []string
	for _, e := range hist {
		if e.rev <= from {
			continue
		}
		was, is := f.matches(e.prev), !e.delete && f.matches(e.cur)
		switch {
		case was && is:
			out = append(out, render(api.Modified, e.cur, e.rev))
		case is:
			out = append(out, render(api.Added, e.cur, e.rev))
		case was:
			out = append(out, render(api.Deleted, e.prev, e.rev))
		}
	}
	return out
}
