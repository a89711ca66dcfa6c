package etcdstore

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/watchcached/watchcached/api"
)

// Corrupt values (B62). A value under the resource's prefix that does not
// decode is skipped by lists and watches, but a read or write of its one
// key fails with api.ErrCorrupt naming the key, and DeleteCorrupt removes
// it: kube-apiserver's behaviour with AllowUnsafeMalformedObjectDeletion.
// Without that, the name would be blocked for good (a create finds the key
// taken, while every other verb reports it absent).
//
// The store remembers the keys it found corrupt (Store.corrupt), logging
// each once while it stays corrupt. The cache holds no such value, so it
// asks KnownCorrupt before it answers NotFound. The set is a hint: a key
// leaves it when a read finds the key absent or decodable, and it is
// never the only source of an answer (the cache then reads etcd).

// ignoreReadErrorField is the DeleteOptions field that asks for the
// removal of a corrupt value.
const ignoreReadErrorField = "ignoreStoreReadErrorWithClusterBreakingPotential"

var _ api.CorruptDeleter = (*Store)(nil)

// markCorrupt records that key holds a value that does not decode: logged
// the first time, reported to OnDecodeError every time. The first value
// found encrypted at rest also logs a warning for the whole resource.
func (s *Store) markCorrupt(key string, err error) {
	if isEncrypted(err) && s.encWarned.CompareAndSwap(false, true) {
		s.logger.Warn("etcdstore: values of this resource are encrypted at rest (kube-apiserver's encryption configuration); "+
			"watchcached cannot decrypt them: they are skipped by lists and watches, and reads of their keys answer 500",
			"resource", s.res.GroupResource(), "key", key, "err", err)
	}
	if _, seen := s.corrupt.LoadOrStore(key, struct{}{}); !seen {
		s.corruptN.Add(1)
		s.logger.Warn("etcdstore: skipping a value that does not decode", "key", key, "err", err)
	}
	if s.onDecode != nil {
		s.onDecode(key, err)
	}
}

// decodeRecovered calls decode, turning a panic into an undecodable value
// (logged once with its stack), so one bad value is skipped like any other
// that does not decode and never crashes the daemon. Safe for concurrent
// use when decode is.
func (s *Store) decodeRecovered(decode func(string, []byte, int64) (*api.Object, error),
	key string, value []byte, modRev int64) (obj *api.Object, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("etcdstore: decoding a value panicked", "key", key, "panic", v, "stack", string(debug.Stack()))
			obj, err = nil, undecodable(key, "decoding panicked: %v", v)
		}
	}()
	return decode(key, value, modRev)
}

// forgetCorrupt drops key from the set: it is absent or decodes now. It
// costs one atomic load while the set is empty.
func (s *Store) forgetCorrupt(key string) {
	if s.corruptN.Load() == 0 {
		return
	}
	if _, ok := s.corrupt.LoadAndDelete(key); ok {
		s.corruptN.Add(-1)
	}
}

// KnownCorrupt reports whether the last value this store read at key (in
// a read, a list or its watch) did not decode. The cache asks it before
// answering NotFound, and then reads etcd (Get) for the answer. Safe for
// concurrent use; no etcd request.
func (s *Store) KnownCorrupt(key string) bool {
	if s.corruptN.Load() == 0 {
		return false
	}
	_, ok := s.corrupt.Load(key)
	return ok
}

// corruptError is the 500 of a read or write of a corrupt value, worded
// as kube-apiserver's storage error for an object that does not decode.
func corruptError(key string, modRev int64, err error) error {
	why := strings.TrimPrefix(err.Error(), ErrUndecodable.Error()+": "+key+": ")
	return api.Errorf(api.ErrCorrupt,
		"Internal error occurred: StorageError: corrupt object, Code: 7, Key: %s, ResourceVersion: 0, AdditionalErrorMsg: object not decodable revision=%d: %s",
		key, modRev, why)
}

// notCorrupt refuses the removal option for an object that decodes (or
// does not exist), as kube-apiserver does.
func (s *Store) notCorrupt(name string) error {
	return &api.Error{
		Err:   api.ErrInvalid,
		Field: ignoreReadErrorField,
		Message: fmt.Sprintf("%s %q is invalid: %s: Invalid value: true: is exclusively used to delete corrupt object(s), try again by removing this option",
			s.res.GroupResource(), name, ignoreReadErrorField),
	}
}

// DeleteCorrupt removes the value at namespace/name if it does not decode
// (api.CorruptDeleter). The delete compares the value's mod_revision, so a
// value written meanwhile is never removed unseen: it is read and judged
// again (bounded retries).
func (s *Store) DeleteCorrupt(ctx context.Context, namespace, name string) error {
	if err := api.ValidateName("name", name); err != nil {
		return err
	}
	key := s.key(namespace, name)
	tried := false // a delete lost the race: the key was read corrupt before
	_, rev, err := s.casLoop(ctx, key, name, nil, func(cur seen) (decision, error) {
		switch {
		case cur.corrupt == nil && cur.obj == nil && tried:
			return decision{}, nil // removed by another request meanwhile
		case cur.corrupt == nil:
			return decision{}, s.notCorrupt(name)
		}
		tried = true
		return decision{del: true}, nil
	})
	if err != nil || rev == 0 {
		return err
	}
	s.forgetCorrupt(key)
	s.logger.Warn("etcdstore: removed a value that does not decode", "key", key, "revision", int64(rev))
	return nil
}
