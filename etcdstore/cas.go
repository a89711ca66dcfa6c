package etcdstore

import (
	"context"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// The compare-and-swap loop behind every write to a key that exists:
// Update, Delete, Patch and DeleteCorrupt. Each round sees the key (the
// caller's hint in the first round if there is one, otherwise a
// linearizable read), lets the verb decide from what it sees, and commits
// the decision as one transaction that holds only if the key's
// mod_revision is still the one seen. When another write came first the
// round starts over; after maxWriteRetries rounds the answer is
// kube-apiserver's conflict. Etcd's errors are mapped here (and in txn,
// shared with Create) and nowhere else on the write path; the verbs only
// judge objects.

// maxWriteRetries bounds the rounds of the compare-and-swap loop when other
// writers keep winning the race.
const maxWriteRetries = 16

// seen is a key's state as one round of the loop sees it.
type seen struct {
	obj   *api.Object // the decoded object; nil when absent or corrupt
	value []byte      // the stored value; nil when absent or a hint
	rev   int64       // the mod_revision the commit compares; 0 when absent
	hint  bool        // obj is the caller's guess, not read from etcd
	// corrupt is the ErrCorrupt naming the key when the value does not
	// decode (B62); obj is then nil.
	corrupt error
}

// decision is what a verb makes of one seen state: a write (put or del),
// an answer without a write (neither), or another round on a fresh read
// (again).
type decision struct {
	put []byte // the value to put
	del bool   // delete the key
	// obj is the answer. After a write it is stamped with the write's
	// revision; nil is allowed when the caller needs no object.
	obj *api.Object
	// again asks for a fresh read: the hint cannot decide alone (B53).
	again bool
	// once makes a lost race a conflict at once instead of another round:
	// the client's own precondition was the revision that lost.
	once bool
	// created says that the write creates the key (a server-side apply
	// of an absent object, B210): the caller's Report learns it.
	created bool
	// dryRV is the resourceVersion a dry run shows the answer at (B211),
	// as kube-apiserver shows it: the current object's for a patch or a
	// delete, the body's for an update; 0 shows none.
	dryRV uint64
}

func (d decision) writes() bool { return d.put != nil || d.del }

// casObject is casLoop for a verb that needs the object: a value that does
// not decode is its ErrCorrupt and an absent one is ErrNotFound, before
// decide is asked.
func (s *Store) casObject(ctx context.Context, key, name string, hint *api.Object, decide func(seen) (decision, error)) (*api.Object, error) {
	obj, _, err := s.casLoop(ctx, key, name, hint, func(cur seen) (decision, error) {
		switch {
		case cur.corrupt != nil:
			return decision{}, cur.corrupt
		case cur.obj == nil:
			return decision{}, s.notFound(name)
		}
		return decide(cur)
	})
	return obj, err
}

// casLoop runs the compare-and-swap loop on key (the object name, for the
// conflict's message) with decide as the verb. hint, if not nil and of
// key, stands in for the first read. It returns the answer and the
// revision of the write (0 when nothing was written). decide's errors are
// returned as they are. Under a dry run (B211) the first decision is the
// answer and nothing is committed; it is taken on a fresh read, never on
// the hint.
func (s *Store) casLoop(ctx context.Context, key, name string, hint *api.Object, decide func(seen) (decision, error)) (*api.Object, uint64, error) {
	dry := api.WriteOptionsFrom(ctx).DryRun
	if hint != nil && (hint.Key != key || dry) {
		hint = nil
	}
	for range maxWriteRetries {
		cur, err := s.see(ctx, key, hint)
		if err != nil {
			return nil, 0, err
		}
		hint = nil
		d, err := decide(cur)
		switch {
		case err != nil:
			return nil, 0, err
		case d.again:
			continue
		case !d.writes():
			return d.obj, 0, nil
		case dry:
			return dryAnswer(ctx, d), 0, nil
		}
		rev, ok, err := s.commit(ctx, key, cur.rev, d)
		if ok && d.created {
			api.ReportCreated(ctx)
		}
		switch {
		case err != nil:
			return nil, 0, err
		case ok && d.obj == nil:
			return nil, rev, nil
		case ok:
			return d.obj.WithRV(rev), rev, nil
		case d.once:
			return nil, 0, s.conflict(name)
		}
	}
	return nil, 0, s.conflict(name)
}

// see returns key's state for one round: hint if not nil, otherwise a
// linearizable read. Reading the key updates the corrupt set (B62).
func (s *Store) see(ctx context.Context, key string, hint *api.Object) (seen, error) {
	if hint != nil {
		return seen{obj: hint, rev: int64(hint.RV), hint: true}, nil
	}
	begin := time.Now()
	resp, err := s.client.Get(ctx, key)
	s.requests.observe("get", begin)
	if err != nil {
		return seen{}, mapErr(err)
	}
	if len(resp.Kvs) == 0 {
		s.forgetCorrupt(key)
		return seen{}, nil
	}
	kv := resp.Kvs[0]
	obj, err := s.decodeOne(kv.Key, kv.Value, kv.ModRevision)
	return seen{obj: obj, value: kv.Value, rev: kv.ModRevision, corrupt: err}, nil
}

// commit makes d's write if key's mod_revision is still rev; ok is false
// when another write came first.
func (s *Store) commit(ctx context.Context, key string, rev int64, d decision) (uint64, bool, error) {
	op, name := clientv3.OpDelete(key), "delete"
	if !d.del {
		op, name = clientv3.OpPut(key, string(d.put)), "update"
	}
	return s.txn(ctx, name, clientv3.Compare(clientv3.ModRevision(key), "=", rev), op)
}

// txn runs then if cmp holds, timed as operation (create, update or
// delete). It returns the revision etcd answered at, whether cmp held, or
// etcd's error mapped to the api error a client sees.
func (s *Store) txn(ctx context.Context, operation string, cmp clientv3.Cmp, then clientv3.Op) (uint64, bool, error) {
	begin := time.Now()
	resp, err := s.client.Txn(ctx).If(cmp).Then(then).Commit()
	s.requests.observe(operation, begin)
	if err != nil {
		return 0, false, mapErr(err)
	}
	return uint64(resp.Header.Revision), resp.Succeeded, nil
}

// conflict is kube-apiserver's answer to a write that lost the race to
// another one (or whose resourceVersion is not current).
func (s *Store) conflict(name string) error {
	return api.Errorf(api.ErrConflict,
		"Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again",
		s.res.GroupResource(), name)
}

// dryAnswer is what a dry run of the write d answers (B211): the object
// it would store (a delete: the object it would remove) at d.dryRV.
func dryAnswer(ctx context.Context, d decision) *api.Object {
	if d.created {
		api.ReportCreated(ctx)
	}
	switch {
	case d.obj == nil || d.del:
		return d.obj
	case d.dryRV == 0:
		return withoutRV(d.obj)
	}
	return d.obj.WithRV(d.dryRV)
}

// withoutRV is o with no metadata.resourceVersion in Raw (RV 0), as
// kube-apiserver answers a dry-run create. The copy is an answer only:
// its RVAt points at no digits, so it is never to be stamped (WithRV) or
// stored.
func withoutRV(o *api.Object) *api.Object {
	const member = `"resourceVersion":"`
	start := o.RVAt - len(member)
	if start < 0 || string(o.Raw[start:o.RVAt]) != member {
		return o
	}
	end := o.RVAt + len(strconv.FormatUint(o.RV, 10)) + 1 // past the closing quote
	switch {
	case end < len(o.Raw) && o.Raw[end] == ',':
		end++
	case start > 0 && o.Raw[start-1] == ',':
		start--
	}
	raw := make([]byte, 0, len(o.Raw)-(end-start))
	raw = append(raw, o.Raw[:start]...)
	raw = append(raw, o.Raw[end:]...)
	return &api.Object{Key: o.Key, Namespace: o.Namespace, Name: o.Name, UID: o.UID, Labels: o.Labels,
		Fields: o.Fields, Raw: raw}
}
