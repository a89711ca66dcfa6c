package etcdstore

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/watchcached/watchcached/api"
)

// Patch applies a patch to the current object (B53, B75, B76); it is
// PatchWithHint without a hint.
func (s *Store) Patch(ctx context.Context, namespace, name string, patch api.Patch) (*api.Object, error) {
	return s.PatchWithHint(ctx, namespace, name, patch, nil)
}

// PatchWithHint applies an RFC 7386 JSON merge patch (B53), an RFC 6902
// JSON patch (B75) or, for a built-in kind, a strategic merge patch
// (B76); any other type is ErrUnsupportedMediaType. hint, if not nil, is
// a first guess of the current object (the cache's copy): the patched
// object is written with a compare on hint's RV, and only when that fails
// is the object read from etcd, patched again and retried (bounded). A
// patch that sets metadata.resourceVersion makes it a precondition
// (ErrConflict, no retry). The hint alone never decides an answer: a
// precondition that fails against it, a patch that does not apply to it
// (a failed JSON patch test), or a patch that changes nothing in it, is
// checked again against the object read from etcd (the hint may be
// stale). A patch may not change the name, namespace, apiVersion or kind
// (ErrBadRequest) nor the uid (ErrInvalid); creationTimestamp keeps its
// stored value. A patch that changes nothing writes nothing.
func (s *Store) PatchWithHint(ctx context.Context, namespace, name string, patch api.Patch, hint *api.Object) (*api.Object, error) {
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	o := api.WriteOptionsFrom(ctx)
	apply, err := s.patcher(patch, o)
	if err != nil {
		return nil, err
	}
	apply = s.keepStatusPatch(apply)
	p := patchRun{apply: apply, manager: o.FieldManager, ssa: patch.Type == api.ApplyPatch}
	if p.ssa {
		if err := applyStrictness(ctx, patch.Data); err != nil {
			return nil, err
		}
		obj, _, err := s.casLoop(ctx, s.key(namespace, name), name, hint, func(cur seen) (decision, error) {
			switch {
			case cur.corrupt != nil:
				return decision{}, cur.corrupt
			case cur.obj == nil:
				return s.decideApplyCreate(namespace, name, apply)
			}
			return s.decidePatch(ctx, cur, p)
		})
		return obj, err
	}
	p.dups = patchDuplicates(patch)
	return s.casObject(ctx, s.key(namespace, name), name, hint, func(cur seen) (decision, error) {
		return s.decidePatch(ctx, cur, p)
	})
}

// patchRun is one patch as every round of its loop applies it.
type patchRun struct {
	apply   applyFunc
	manager string // the managedFields manager (B210)
	ssa     bool   // a server-side apply: apply keeps managedFields itself
	dups    []error
}

// decidePatch patches cur.obj with p and decides the write. When cur
// is a hint and the outcome would rest on it alone (a failed
// resourceVersion precondition, a patch that does not apply, or a patch
// that changes nothing), it asks for a fresh read instead.
func (s *Store) decidePatch(ctx context.Context, cur seen, p patchRun) (decision, error) {
	orig, err := parseObject(cur.obj.Raw, "stored object")
	if err != nil {
		return decision{}, api.Errorf(api.ErrBadRequest, "cannot patch %s %q: %v", s.res.GroupResource(), cur.obj.Name, err)
	}
	before, ok := orig["metadata"].(map[string]any)
	if !ok {
		return decision{}, api.Errorf(api.ErrBadRequest, "cannot patch %s %q: no metadata", s.res.GroupResource(), cur.obj.Name)
	}
	delete(before, "resourceVersion")
	stored, _ := json.Marshal(orig)
	before["resourceVersion"] = api.FormatRV(cur.obj.RV)
	oldTS := before["creationTimestamp"]

	merged, err := p.apply(orig)
	switch {
	case err != nil && cur.hint:
		return decision{again: true}, nil
	case err != nil:
		return decision{}, err
	}
	d, err := s.toDocument(merged)
	if err != nil {
		return decision{}, err
	}
	if err := s.checkPatched(d, cur.obj); err != nil {
		return decision{}, err
	}
	if rv, _ := d.md["resourceVersion"].(string); rv != "" && rv != api.FormatRV(cur.obj.RV) {
		if cur.hint {
			return decision{again: true}, nil
		}
		return decision{}, s.conflict(cur.obj.Name)
	}
	if oldTS != nil {
		d.md["creationTimestamp"] = oldTS
	}
	if !p.ssa {
		raw, _ := json.Marshal(d.obj)
		if err := fieldStrictness(ctx, d, append(p.dups, s.strictErrors(raw)...), undecodablePatch); err != nil {
			return decision{}, err
		}
	}
	if err := s.validatePatched(d, cur.obj); err != nil {
		return decision{}, err
	}
	if !p.ssa {
		s.trackUpdate(d, cur.obj, p.manager)
	}
	finalize := carryLifecycle(d, cur.obj)
	val, obj, err := s.codec.encode(cur.obj.Key, d)
	switch {
	case err != nil:
		return decision{}, err
	case bytes.Equal(val, stored) && cur.hint:
		return decision{again: true}, nil
	case bytes.Equal(val, stored):
		return decision{obj: cur.obj}, nil
	case finalize && cur.hint:
		return decision{again: true}, nil
	case finalize:
		return decision{del: true, obj: cur.obj}, nil
	}
	return decision{put: val, obj: obj, dryRV: cur.obj.RV}, nil
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
