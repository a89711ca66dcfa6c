package upstream

import (
	"context"
	"strconv"

	"github.com/watchcached/watchcached/api"
)

// maxBatch bounds the events of one batch: what the upstream has already
// sent when the first is handed over is applied with it, up to this many.
const maxBatch = 256

// WatchEvents follows every change with RV >= fromRev with one upstream
// watch from fromRev-1 (with bookmarks, which become progress items), or
// continues the WatchList that made the last list when it ended at
// fromRev-1. An ERROR 410 is an item wrapping ErrExpired (relist); a
// stream that ends or breaks is an ErrUnavailable item (resume).
//
// The channel is unbuffered: an item is handed over, and the previous
// states kept for the next events are updated, only when the reader takes
// it, under s.mu, so a stopped stream never races its successor.
func (s *Source) WatchEvents(ctx context.Context, fromRev uint64) <-chan api.SourceBatch {
	out := make(chan api.SourceBatch)
	go func() {
		defer close(out)
		st := s.takePending(fromRev - 1)
		if st == nil {
			var err error
			st, err = s.openWatch(ctx, watchParams{rv: strconv.FormatUint(fromRev-1, 10)})
			if err != nil {
				s.handErr(ctx, out, err)
				return
			}
		}
		stop := context.AfterFunc(ctx, st.cancel)
		defer stop()
		defer st.close()
		s.follow(ctx, st, out)
	}()
	return out
}

// follow hands st's items over as batches until the stream or ctx ends.
func (s *Source) follow(ctx context.Context, st *stream, out chan<- api.SourceBatch) {
	var held *item
	for {
		var first item
		if held != nil {
			first, held = *held, nil
		} else {
			var ok bool
			select {
			case first, ok = <-st.items:
				if !ok {
					return
				}
			case <-ctx.Done():
				return
			}
		}
		if first.err != nil {
			s.handErr(ctx, out, first.err)
			return
		}
		if first.typ == api.Bookmark {
			if !s.hand(ctx, out, nil, first.rv) {
				return
			}
			continue
		}
		batch := []item{first}
		batch, held = drain(st.items, batch)
		if !s.hand(ctx, out, batch, 0) {
			return
		}
	}
}

// drain appends the object events already decoded to batch, up to
// maxBatch; the first other item (or an event past the bound) is returned
// as held.
func drain(items <-chan item, batch []item) ([]item, *item) {
	for len(batch) < maxBatch {
		select {
		case it, ok := <-items:
			if !ok {
				return batch, &item{err: api.Errorf(api.ErrUnavailable, "upstream watch closed")}
			}
			if it.err != nil || it.typ == api.Bookmark {
				return batch, &it
			}
			batch = append(batch, it)
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// hand gives the reader one batch of object events (with each one's
// previous state) or a progress revision, and then records the events'
// objects as the latest states. It reports false when ctx ended first.
func (s *Source) hand(ctx context.Context, out chan<- api.SourceBatch, batch []item, progress uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := api.SourceBatch{Progress: progress}
	var overlay map[string]*api.Object // states of this batch's earlier events
	for _, it := range batch {
		key := it.obj.Key
		prev, seen := overlay[key]
		if !seen {
			prev = s.latest[key]
		}
		typ := it.typ
		switch {
		case typ == api.Added && prev != nil:
			typ = api.Modified // a state of a known object, whatever the upstream called it
		case typ == api.Modified && prev == nil:
			typ = api.Added
		}
		b.Events = append(b.Events, &api.Event{Type: typ, Object: it.obj, Prev: prev, RV: it.rv})
		if overlay == nil {
			overlay = map[string]*api.Object{}
		}
		if typ == api.Deleted {
			overlay[key] = nil
		} else {
			overlay[key] = it.obj
		}
	}
	select {
	case out <- b:
	case <-ctx.Done():
		return false
	}
	for k, o := range overlay {
		if o == nil {
			delete(s.latest, k)
		} else {
			s.latest[k] = o
		}
	}
	return true
}

// handErr gives the reader the error that ends a stream.
func (s *Source) handErr(ctx context.Context, out chan<- api.SourceBatch, err error) {
	if ctx.Err() != nil {
		return
	}
	select {
	case out <- api.SourceBatch{Err: err}:
	case <-ctx.Done():
	}
}

// takePending returns the held WatchList stream if its initial events
// ended at rv (else closes it), leaving none held.
func (s *Source) takePending(rv uint64) *stream {
	s.mu.Lock()
	st := s.pending
	s.pending = nil
	s.mu.Unlock()
	if st != nil && st.rv != rv {
		st.close()
		return nil
	}
	return st
}

// dropPending closes the held WatchList stream, if any.
func (s *Source) dropPending() {
	if st := s.takePending(0); st != nil {
		st.close()
	}
}

// Close closes the WatchList stream held for the next watch, if any. The
// Source stays usable.
func (s *Source) Close() error {
	s.dropPending()
	return nil
}
