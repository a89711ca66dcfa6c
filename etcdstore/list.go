package etcdstore

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// maxPageSize bounds the growing page size of a filtered, limited list.
const maxPageSize = 10000

// Messages of the 410 answers, in kube-apiserver's spirit.
const (
	msgListTooOld     = "The resourceVersion for the provided list is too old."
	msgContinueTooOld = "The provided continue parameter is too old to display a consistent list result. " +
		"You can start a new list without the continue parameter, or use the continue token in this response " +
		"to retrieve the remainder of the results. Continuing with the provided token results in an " +
		"inconsistent list - objects that were created, modified, or deleted between the time the first chunk " +
		"was returned and now may show up in the list."
)

// listPlan is where and at which revision a List reads.
type listPlan struct {
	start, end string // the key range [start, end)
	prefix     string // the list's own key prefix, which tokens are relative to
	rev        int64  // 0: the latest revision
	minRV      uint64 // NotOlderThan: the latest revision must reach it
	token      bool   // continuing from a token
}

// List returns the objects matching opts, sorted by key, read straight from
// etcd (B20-B26 with direct-etcd semantics for B10-B14): RV ""/"0" is the
// latest state; RVM=Exact or a limit with RV=n reads at revision n; RV=n
// otherwise reads the latest state, which must have reached n. With a
// limit, pages are read until limit items match or the range is
// exhausted, all at one revision.
func (s *Store) List(ctx context.Context, opts api.ListOptions) (*api.List, error) {
	rv, err := opts.Parse()
	if err != nil {
		return nil, err
	}
	plan, err := s.planList(opts, rv)
	if err != nil {
		return nil, err
	}
	l, err := s.readList(ctx, plan, opts.Limit, opts.Predicate)
	if err == nil {
		return l, nil
	}
	switch {
	case errors.Is(err, rpctypes.ErrCompacted) && plan.token:
		return nil, &api.Error{Err: api.ErrExpired, Message: msgContinueTooOld,
			Continue: api.EncodeContinueKey(-1, plan.start, plan.prefix)}
	case errors.Is(err, rpctypes.ErrCompacted):
		return nil, api.Errorf(api.ErrExpired, msgListTooOld)
	case errors.Is(err, rpctypes.ErrFutureRev):
		cur, cerr := s.CurrentRevision(ctx)
		if cerr != nil {
			return nil, cerr
		}
		return nil, api.TooLargeRV(uint64(plan.rev), cur)
	}
	return nil, mapErr(err)
}

func (s *Store) planList(opts api.ListOptions, rv api.RVRequest) (listPlan, error) {
	ns := opts.Namespace
	if !s.res.Namespaced {
		ns = ""
	}
	prefix := s.res.NamespacePrefix(s.prefix, ns)
	p := listPlan{start: prefix, end: clientv3.GetPrefixRangeEnd(prefix), prefix: prefix}
	if opts.Continue != "" {
		rv, start, err := api.DecodeContinue(opts.Continue)
		if err != nil {
			return p, err
		}
		p.start, p.token = api.ContinueStartKey(prefix, start), true
		if rv > 0 {
			p.rev = rv
		}
		return p, nil
	}
	switch rv.Kind {
	case api.RVExact:
		p.rev = int64(rv.N)
	case api.RVNotOlderThan:
		p.minRV = rv.N
	}
	return p, nil
}

// readList reads plan's range page by page at one revision. Errors are the
// etcd client's, unmapped.
func (s *Store) readList(ctx context.Context, plan listPlan, limit int64, pred api.Predicate) (*api.List, error) {
	l := &api.List{Items: []*api.Object{}}
	rev, key, pageSize := plan.rev, plan.start, limit
	for {
		resp, err := s.getPage(ctx, key, plan.end, pageSize, rev)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
			if uint64(rev) < plan.minRV {
				return nil, api.TooLargeRV(plan.minRV, uint64(rev))
			}
		}
		l.RV = uint64(rev)
		for i, kv := range resp.Kvs {
			if obj, ok := s.decodeKV(kv.Key, kv.Value, kv.ModRevision); ok && pred.Matches(obj) {
				l.Items = append(l.Items, obj)
			}
			if limit > 0 && int64(len(l.Items)) == limit {
				if i < len(resp.Kvs)-1 || resp.More {
					l.Continue = api.EncodeContinueKey(rev, string(kv.Key)+"\x00", plan.prefix)
					if pred.Empty() {
						rem := resp.Count - int64(i+1)
						l.RemainingItemCount = &rem
					}
				}
				return l, nil
			}
		}
		next, more := nextPage(resp)
		if !more {
			return l, nil
		}
		key = next
		if pageSize < maxPageSize {
			pageSize = min(2*pageSize, maxPageSize)
		}
	}
}

// ListAll reads every object of the resource in pages of pageSize (0: one
// request), all at one revision, which it returns. Values that do not
// decode are skipped (B62). For the cache's reflector (B60). A compaction
// between pages gives an error wrapping api.ErrExpired; start over.
func (s *Store) ListAll(ctx context.Context, pageSize int64) ([]*api.Object, uint64, error) {
	end := clientv3.GetPrefixRangeEnd(s.resPrefix)
	var objs []*api.Object
	var rev int64
	key := s.resPrefix
	for {
		resp, err := s.getPage(ctx, key, end, pageSize, rev)
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil, 0, api.Errorf(api.ErrExpired, "revision %d was compacted while listing", rev)
		}
		if err != nil {
			return nil, 0, mapErr(err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
			objs = make([]*api.Object, 0, resp.Count)
		}
		for _, kv := range resp.Kvs {
			if obj, ok := s.decodeKV(kv.Key, kv.Value, kv.ModRevision); ok {
				objs = append(objs, obj)
			}
		}
		next, more := nextPage(resp)
		if !more {
			return objs, uint64(rev), nil
		}
		key = next
	}
}

// getPage reads up to limit keys (0: no limit) of [key, end) at revision
// rev (0: the latest). The error is the etcd client's, unmapped.
func (s *Store) getPage(ctx context.Context, key, end string, limit, rev int64) (*clientv3.GetResponse, error) {
	ops := []clientv3.OpOption{clientv3.WithRange(end)}
	if limit > 0 {
		ops = append(ops, clientv3.WithLimit(limit))
	}
	if rev > 0 {
		ops = append(ops, clientv3.WithRev(rev))
	}
	begin := time.Now()
	resp, err := s.client.Get(ctx, key, ops...)
	s.requests.observe("list", begin)
	return resp, err
}

// nextPage returns the key the page after resp starts at, or more=false
// when resp was the last page.
func nextPage(resp *clientv3.GetResponse) (next string, more bool) {
	if !resp.More || len(resp.Kvs) == 0 {
		return "", false
	}
	return string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00", true
}
