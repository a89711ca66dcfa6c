package etcdstore

import (
	"bytes"
	"context"
	"slices"

	"github.com/watchcached/watchcached/api"
)

// The status subresource (B220, B221), as kube-apiserver's status
// strategies run it for a resource that has one (api.Resource.HasStatus):
// a write to <object>/status changes only .status, everything else being
// taken from the stored object; a write to the object itself keeps the
// stored .status; and a create starts from the status the kind's
// strategy gives (prepareCreate). Functions and methods here are safe for
// concurrent use.

// UpdateStatus replaces the stored object's .status with the body's (no
// .status in the body removes it); the rest of the body is ignored except
// that its name and namespace must agree with the request and a
// metadata.resourceVersion is a precondition (ErrConflict when not
// current). An update that changes nothing writes nothing.
func (s *Store) UpdateStatus(ctx context.Context, namespace, name string, body []byte) (*api.Object, error) {
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	d, pre, _, err := s.parseUpdate(namespace, name, body)
	if err != nil {
		return nil, err
	}
	status, hasStatus := d.obj["status"]
	return s.casObject(ctx, s.key(namespace, name), name, nil, func(cur seen) (decision, error) {
		if pre != 0 && pre != cur.obj.RV {
			return decision{}, s.conflict(name)
		}
		nd, err := s.storedDocument(cur.obj)
		if err != nil {
			return decision{}, err
		}
		setStatus(nd.obj, status, hasStatus)
		return s.decideStatusWrite(cur, nd, pre != 0)
	})
}

// PatchStatus applies patch to the stored object and keeps only the
// patched .status (and a metadata.resourceVersion the patch sets, a
// precondition); it is PatchStatusWithHint without a hint.
func (s *Store) PatchStatus(ctx context.Context, namespace, name string, patch api.Patch) (*api.Object, error) {
	return s.PatchStatusWithHint(ctx, namespace, name, patch, nil)
}

// PatchStatusWithHint is PatchWithHint for the status subresource: the
// patch applies to the whole stored object, as kube-apiserver applies it,
// and the result keeps the stored object except for .status.
func (s *Store) PatchStatusWithHint(ctx context.Context, namespace, name string, patch api.Patch, hint *api.Object) (*api.Object, error) {
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	if patch.Type == api.ApplyPatch {
		// Server-side apply of the status subresource is not served yet.
		_, builtin := s.patchSchema()
		types := slices.DeleteFunc(api.PatchTypes(builtin), func(t api.PatchType) bool { return t == api.ApplyPatch })
		return nil, api.UnsupportedPatch(types)
	}
	o := api.WriteOptionsFrom(ctx)
	apply, err := s.patcher(patch, o)
	if err != nil {
		return nil, err
	}
	onlyStatus := func(obj map[string]any) (map[string]any, error) {
		orig := deepCopyJSON(obj).(map[string]any)
		out, err := apply(obj)
		if err != nil {
			return nil, err
		}
		status, ok := out["status"]
		setStatus(orig, status, ok)
		if md, ok := out["metadata"].(map[string]any); ok {
			if om, ok := orig["metadata"].(map[string]any); ok {
				om["resourceVersion"] = md["resourceVersion"]
			}
		}
		return orig, nil
	}
	return s.casObject(ctx, s.key(namespace, name), name, hint, func(cur seen) (decision, error) {
		return s.decidePatch(ctx, cur, patchRun{apply: onlyStatus, manager: o.FieldManager})
	})
}

// storedDocument parses a stored object into a document to write back.
func (s *Store) storedDocument(o *api.Object) (document, error) {
	obj, err := parseObject(o.Raw, "stored object")
	if err != nil {
		return document{}, api.Errorf(api.ErrBadRequest, "cannot update %s %q: %v", s.res.GroupResource(), o.Name, err)
	}
	return s.toDocument(obj)
}

// decideStatusWrite validates and encodes nd, which replaces cur.
func (s *Store) decideStatusWrite(cur seen, nd document, once bool) (decision, error) {
	if err := s.validateWrite(nd, cur.obj); err != nil {
		return decision{}, err
	}
	carryLifecycle(nd, cur.obj)
	val, obj, err := s.codec.encode(cur.obj.Key, nd)
	switch {
	case err != nil:
		return decision{}, err
	case bytes.Equal(val, cur.value):
		return decision{obj: cur.obj}, nil
	}
	return decision{put: val, obj: obj, once: once}, nil
}

// keepStatus gives d, which replaces the stored object old through the
// object itself, old's .status when the resource has a status
// subresource (kube-apiserver's PrepareForUpdate).
func (s *Store) keepStatus(d document, old *api.Object) {
	if !s.res.HasStatus() {
		return
	}
	stored, err := parseObject(old.Raw, "stored object")
	if err != nil {
		return
	}
	status, ok := stored["status"]
	setStatus(d.obj, status, ok)
}

// keepStatusPatch wraps a patch of the object itself so that the result
// keeps the stored .status when the resource has a status subresource.
func (s *Store) keepStatusPatch(apply applyFunc) applyFunc {
	if !s.res.HasStatus() {
		return apply
	}
	return func(obj map[string]any) (map[string]any, error) {
		status, ok := obj["status"]
		status = deepCopyJSON(status)
		out, err := apply(obj)
		if err != nil {
			return nil, err
		}
		setStatus(out, status, ok)
		return out, nil
	}
}

// setStatus sets obj's status, or removes it when has is false.
func setStatus(obj map[string]any, status any, has bool) {
	if has {
		obj["status"] = status
	} else {
		delete(obj, "status")
	}
}

// deepCopyJSON copies a value parsed from JSON (maps, slices, scalars).
func deepCopyJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = deepCopyJSON(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = deepCopyJSON(e)
		}
		return c
	}
	return v
}

// prepareCreate sets the status a new object starts with when the
// resource has a status subresource, as the kind's PrepareForCreate does:
// a pod is Pending with its QoS class, a namespace Active, a persistent
// volume Pending, a node keeps the status it is created with (kubelet
// registers nodes with theirs), any other built-in kind starts with an
// empty status and a custom resource with none.
func (s *Store) prepareCreate(d document) {
	if !s.res.HasStatus() {
		return
	}
	if _, builtin := s.patchSchema(); !builtin {
		delete(d.obj, "status")
		return
	}
	switch s.res.GroupVersion() + "/" + s.res.Kind {
	case "v1/Node":
	case "v1/Pod":
		d.obj["status"] = map[string]any{"phase": "Pending", "qosClass": podQOSClass(d.obj)}
	case "v1/Namespace":
		d.obj["status"] = map[string]any{"phase": "Active"}
	case "v1/PersistentVolume":
		d.obj["status"] = map[string]any{"phase": "Pending"}
	default:
		d.obj["status"] = map[string]any{}
	}
}
