package etcdstore

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/watchcached/watchcached/api"
)

// Patch applies an RFC 7386 JSON merge patch to the current object (B53);
// it is PatchWithHint without a hint.
func (s *Store) Patch(ctx context.Context, namespace, name string, mergePatch []byte) (*api.Object, error) {
	return s.PatchWithHint(ctx, namespace, name, mergePatch, nil)
}

// PatchWithHint applies an RFC 7386 JSON merge patch (B53). hint, if not
// nil, is a first guess of the current object (the cache's copy): the
// patched object is written with a compare on hint's RV, and only when that
// fails is the object read from etcd, patched again and retried (bounded).
// A patch that sets metadata.resourceVersion makes it a precondition
// (ErrConflict, no retry). The hint alone never decides an answer: a
// precondition that fails against it, or a patch that changes nothing in
// it, is checked again against the object read from etcd (the hint may be
// stale). A patch may not change the name, namespace,
// apiVersion or kind (ErrBadRequest) nor the uid (ErrInvalid);
// creationTimestamp keeps its stored value. A patch that changes nothing
// writes nothing.
func (s *Store) PatchWithHint(ctx context.Context, namespace, name string, mergePatch []byte, hint *api.Object) (*api.Object, error) {
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	patch, err := parseObject(mergePatch, "patch")
	if err != nil {
		return nil, err
	}
	key := s.key(namespace, name)
	cur := hint
	if cur != nil && cur.Key != key {
		cur = nil
	}
	for range maxWriteRetries {
		fresh := cur == nil
		if fresh {
			if cur, _, err = s.getStored(ctx, key); err != nil {
				return nil, err
			}
			if cur == nil {
				return nil, s.notFound(name)
			}
		}
		obj, done, err := s.patchOnce(ctx, cur, patch, fresh)
		if err != nil || done {
			return obj, err
		}
		cur = nil
	}
	return nil, s.conflict(name)
}

// patchOnce patches cur and writes the result if cur is still current.
// done is false when another write came first, and when cur is not fresh
// (a hint) and the outcome would rest on it alone: a failed
// resourceVersion precondition or a patch that changes nothing.
func (s *Store) patchOnce(ctx context.Context, cur *api.Object, patch map[string]any, fresh bool) (*api.Object, bool, error) {
	orig, err := parseObject(cur.Raw, "stored object")
	if err != nil {
		return nil, false, api.Errorf(api.ErrBadRequest, "cannot patch %s %q: %v", s.res.GroupResource(), cur.Name, err)
	}
	before, ok := orig["metadata"].(map[string]any)
	if !ok {
		return nil, false, api.Errorf(api.ErrBadRequest, "cannot patch %s %q: no metadata", s.res.GroupResource(), cur.Name)
	}
	delete(before, "resourceVersion")
	stored, _ := json.Marshal(orig)
	before["resourceVersion"] = api.FormatRV(cur.RV)
	oldTS := before["creationTimestamp"]

	merged, ok := mergeJSON(orig, patch).(map[string]any)
	if !ok {
		return nil, false, api.Errorf(api.ErrBadRequest, "the patched object is not a JSON object")
	}
	d, err := s.toDocument(merged)
	if err != nil {
		return nil, false, err
	}
	if err := s.checkPatched(d, cur); err != nil {
		return nil, false, err
	}
	rv, _ := d.md["resourceVersion"].(string)
	if rv != "" && rv != api.FormatRV(cur.RV) {
		if !fresh {
			return nil, false, nil
		}
		return nil, false, s.conflict(cur.Name)
	}
	if oldTS != nil {
		d.md["creationTimestamp"] = oldTS
	}
	val, obj, err := s.encode(cur.Key, d)
	if err != nil {
		return nil, false, err
	}
	if bytes.Equal(val, stored) {
		if !fresh {
			return nil, false, nil
		}
		return cur, true, nil
	}
	ok, rev, err := s.putIf(ctx, cur.Key, cur.RV, val)
	if err != nil || !ok {
		return nil, false, err
	}
	return obj.WithRV(rev), true, nil
}

// checkPatched refuses a patch that moved the object or changed its uid.
func (s *Store) checkPatched(d document, cur *api.Object) error {
	name, err := d.str("name")
	if err != nil {
		return err
	}
	if name != cur.Name {
		return api.NameMismatch(name, cur.Name)
	}
	ns, err := d.str("namespace")
	if err != nil {
		return err
	}
	if ns != cur.Namespace {
		return api.NamespaceMismatch()
	}
	uid, err := d.str("uid")
	if err != nil {
		return err
	}
	if uid != cur.UID {
		return api.InvalidField("metadata.uid", uid, "field is immutable")
	}
	return nil
}

// mergeJSON applies an RFC 7386 merge patch to target and returns the
// result: a patch that is not an object replaces the target; otherwise each
// member of the patch is merged into the target (made an object if it was
// not), and a null member removes the key. Both arguments may be modified.
func mergeJSON(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergeJSON(t[k], v)
	}
	return t
}
