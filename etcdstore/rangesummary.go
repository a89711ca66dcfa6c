package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// Range summaries: the cache's check after a warm start (cacher/
// rangecheck.go) compares each range of its snapshot's keys with etcd by
// two numbers, the key count and the highest mod revision, without
// listing the keys. etcd answers both with one keys-only range request of
// limit 1 sorted by mod revision, descending: its count is the range's
// whole key count (the limit cuts only the keys returned) and its one key
// carries the highest mod revision. etcd 3.7 serves such a request from
// its in-memory index; older versions read the range's values from their
// backend to sort them, but still send one key. The requests are sent as
// read-only transactions of up to summaryBatch ranges, each one
// linearizable read at one revision.

// summaryBatch is how many ranges one transaction asks about: etcd's
// default --max-txn-ops. A server configured lower answers "too many
// operations", and the batch is halved.
const summaryBatch = 128

// listInPage is the page size of ListIn.
const listInPage = 1000

// SummarizeRanges returns, for each of ranges, its key count and highest
// mod revision at revision rev, in one read-only etcd transaction per
// summaryBatch ranges. Keys whose values do not decode are counted. A
// compacted rev gives an error wrapping api.ErrExpired, a future one
// api.ErrTooLargeRV; a range not within the resource's prefix is an
// error. Safe for concurrent use.
func (s *Store) SummarizeRanges(ctx context.Context, rev uint64, ranges []api.KeyRange) ([]api.RangeSummary, error) {
	ops := make([]clientv3.Op, len(ranges))
	for i, r := range ranges {
		key, end, err := s.keyRange(r)
		if err != nil {
			return nil, err
		}
		ops[i] = clientv3.OpGet(key, clientv3.WithRange(end), clientv3.WithRev(int64(rev)), clientv3.WithKeysOnly(),
			clientv3.WithLimit(1), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend))
	}
	out := make([]api.RangeSummary, 0, len(ranges))
	batch := s.summaryOps
	for len(out) < len(ops) {
		n := min(batch, len(ops)-len(out))
		sums, err := s.summarize(ctx, ops[len(out):len(out)+n])
		if errors.Is(err, rpctypes.ErrTooManyOps) && batch > 1 {
			batch /= 2
			continue
		}
		if err != nil {
			return nil, s.revisionErr(ctx, rev, err)
		}
		out = append(out, sums...)
	}
	return out, nil
}

// summarize sends ops, range requests built by SummarizeRanges, in one
// transaction. The error is the etcd client's, unmapped.
func (s *Store) summarize(ctx context.Context, ops []clientv3.Op) ([]api.RangeSummary, error) {
	begin := time.Now()
	resp, err := s.client.Txn(ctx).Then(ops...).Commit()
	s.requests.observe("list", begin)
	if err != nil {
		return nil, err
	}
	if len(resp.Responses) != len(ops) {
		return nil, fmt.Errorf("etcdstore: %d answers to %d range requests", len(resp.Responses), len(ops))
	}
	out := make([]api.RangeSummary, len(ops))
	for i, r := range resp.Responses {
		rr := r.GetResponseRange()
		if rr == nil {
			return nil, fmt.Errorf("etcdstore: answer %d of a transaction of ranges is not a range", i)
		}
		out[i].Count = rr.Count
		if len(rr.Kvs) > 0 {
			out[i].MaxRV = uint64(rr.Kvs[0].ModRevision)
		}
	}
	return out, nil
}

// ListIn returns the objects in r at revision rev, in key order, read and
// decoded as a list does: values that do not decode are skipped (B62).
// Errors as ListKeyRevisionsIn's. Safe for concurrent use.
func (s *Store) ListIn(ctx context.Context, rev uint64, r api.KeyRange) ([]*api.Object, error) {
	key, end, err := s.keyRange(r)
	if err != nil {
		return nil, err
	}
	var objs []*api.Object
	for {
		resp, err := s.getPage(ctx, key, end, listInPage, int64(rev))
		if err != nil {
			return nil, s.revisionErr(ctx, rev, err)
		}
		for _, kv := range resp.Kvs {
			if obj, ok := s.decodeKV(kv.Key, kv.Value, kv.ModRevision); ok {
				objs = append(objs, obj)
			}
		}
		next, more := nextPage(resp)
		if !more {
			return objs, nil
		}
		key = next
	}
}

// keyRange returns r's etcd range [key, end): End "" is the end of the
// resource's prefix. Both ends must be within the prefix.
func (s *Store) keyRange(r api.KeyRange) (key, end string, err error) {
	key, end = r.Begin, r.End
	if end == "" {
		end = clientv3.GetPrefixRangeEnd(s.resPrefix)
	} else if !strings.HasPrefix(end, s.resPrefix) {
		return "", "", fmt.Errorf("etcdstore: key range [%q, %q) is not within %q", r.Begin, r.End, s.resPrefix)
	}
	if !strings.HasPrefix(key, s.resPrefix) || key >= end {
		return "", "", fmt.Errorf("etcdstore: key range [%q, %q) is not within %q", r.Begin, r.End, s.resPrefix)
	}
	return key, end, nil
}
