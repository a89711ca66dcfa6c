package cacher

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

// etcdReads records the reads (Range and Txn requests) a client sends to
// etcd and counts the bytes of their answers: the etcd load of a cache's
// start and check. Safe for concurrent use.
type etcdReads struct {
	bytes atomic.Int64
	mu    sync.Mutex
	reads []string // guarded by mu: every read but counts, described
}

func (r *etcdReads) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil {
		return err
	}
	var what string
	switch q := req.(type) {
	case *etcdserverpb.RangeRequest:
		what = describeRange(q)
	case *etcdserverpb.TxnRequest:
		what = fmt.Sprintf("txn of %d ranges", len(q.Success))
	default:
		return nil
	}
	if m, ok := reply.(proto.Message); ok {
		r.bytes.Add(int64(proto.Size(m)))
	}
	if what != "" {
		r.mu.Lock()
		r.reads = append(r.reads, what)
		r.mu.Unlock()
	}
	return nil
}

// describeRange names a range request by what it reads: "" for a count
// (a revision or compaction probe), "keys [b, e)" for a keys-only list,
// "values [b, e)" for a list.
func describeRange(q *etcdserverpb.RangeRequest) string {
	switch {
	case q.CountOnly:
		return ""
	case q.KeysOnly:
		return fmt.Sprintf("keys [%s, %s)", q.Key, q.RangeEnd)
	default:
		return fmt.Sprintf("values [%s, %s)", q.Key, q.RangeEnd)
	}
}

// take returns the reads recorded since the last take.
func (r *etcdReads) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.reads)
	r.reads = r.reads[:0]
	return out
}

// recordReads makes e's store, for the caches restart builds from now on,
// talk to etcd through a client of its own whose reads are recorded.
func (e *env) recordReads() *etcdReads {
	e.t.Helper()
	rec := &etcdReads{}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.etcd.Endpoint}, DialTimeout: 10 * time.Second,
		Logger: zap.NewNop(), DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(rec.intercept)},
		MaxCallRecvMsgSize: 1 << 30})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = cli.Close() })
	st, err := etcdstore.New(etcdstore.Config{Client: cli, Resource: testkit.Pods()})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = st.Close() })
	e.store = st
	return rec
}

// wantReads checks that reads start with want and that whatever follows
// is in after (the reads of a relist that may have begun).
func wantReads(t testing.TB, reads, want, after []string) {
	t.Helper()
	if len(reads) < len(want) || !slices.Equal(reads[:len(want)], want) {
		t.Fatalf("etcd reads:\n got %s\nwant %s", strings.Join(reads, "\n     "), strings.Join(want, "\n     "))
	}
	for _, r := range reads[len(want):] {
		if !slices.Contains(after, r) {
			t.Fatalf("etcd reads: unexpected %q after %v", r, want)
		}
	}
}
