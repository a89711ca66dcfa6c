package etcdstore

import (
	"context"
	"errors"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/watchcached/watchcached/api"
)

// Server-side apply (B210): a PATCH of type application/apply-patch+yaml
// names the fields its manager wants; apimachinery's field manager merges
// them into the current object, taking over fields only the same manager
// or nobody owns, and answers kube-apiserver's 409 listing the fields
// other managers own unless the apply is forced. It runs in the same
// compare-and-swap loop as every other patch, with validation after; an
// absent object is created from the applied fields. Functions only: safe
// for concurrent use.

// applyPatcher parses an apply patch (YAML or JSON, as kube-apiserver
// reads it) and returns how it applies to an object for manager o.
func (s *Store) applyPatcher(data []byte, o api.WriteOptions) (applyFunc, error) {
	patch := map[string]any{}
	if err := yaml.Unmarshal(data, &patch); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "error decoding patch: %v", err)
	}
	fm, err := s.fieldManager()
	if err != nil {
		return nil, err
	}
	return func(obj map[string]any) (map[string]any, error) {
		live, err := toUnstructured(obj)
		if err != nil {
			return nil, api.Errorf(api.ErrBadRequest, "cannot apply to the object: %v", err)
		}
		applied := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(patch)}
		out, err := fm.Apply(live, applied, o.FieldManager, o.Force)
		if err != nil {
			return nil, applyError(err)
		}
		return fromUnstructured(out)
	}, nil
}

// applyError is the api error of a failed apply: the field manager's own
// Status (409 Conflict with one FieldManagerConflict cause per field, and
// no object named; 400 for a patch of another version, ...) as it is, and
// any other error kube-apiserver's bare 500 with the error's message (a
// field the schema does not declare, for one).
func applyError(err error) error {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return api.Errorf(api.ErrInternal, "%v", err)
	}
	s := st.Status()
	e := &api.Error{Message: s.Message, NoObject: true}
	switch s.Code {
	case http.StatusConflict:
		e.Err = api.ErrConflict
	case http.StatusBadRequest:
		e.Err = api.ErrBadRequest
	default:
		e.Err = api.ErrInternal
	}
	if s.Details != nil {
		for _, c := range s.Details.Causes {
			e.Causes = append(e.Causes, api.Cause{Type: string(c.Type), Field: c.Field, Message: c.Message})
		}
	}
	return e
}

// applyStrictness is kube-apiserver's fieldValidation of an apply patch
// (B212): only the patch's own duplicate fields count (the schema refuses
// unknown ones); Strict makes them a 400, Warn a warning.
func applyStrictness(ctx context.Context, data []byte) error {
	mode := api.WriteOptionsFrom(ctx).FieldValidation
	if mode == api.FieldValidationIgnore {
		return nil
	}
	if err := yaml.UnmarshalStrict(data, &map[string]any{}); err != nil {
		if mode == api.FieldValidationStrict {
			return api.Errorf(api.ErrBadRequest, "error strict decoding patch: %v", err)
		}
		api.AddWarning(ctx, err.Error())
	}
	return nil
}

// patchDuplicates are the duplicate fields of a patch body that is not an
// apply, worded as kube-apiserver words them (a JSON patch's with the
// prefix "json patch ").
func patchDuplicates(patch api.Patch) []error {
	switch patch.Type {
	case api.JSONPatch:
		return duplicateFields(patch.Data, "json patch ")
	case api.MergePatch, api.StrategicMergePatch:
		return duplicateFields(patch.Data, "")
	}
	return nil
}

// decideApplyCreate is the create a server-side apply of an absent
// object makes (B210): the applied fields with a name and namespace of
// the request's, and what a create sets (uid, creationTimestamp,
// generation), validated as a create. The commit holds only while the key
// is still absent.
func (s *Store) decideApplyCreate(namespace, name string, apply applyFunc) (decision, error) {
	empty := map[string]any{"apiVersion": s.res.GroupVersion(), "kind": s.res.Kind}
	merged, err := apply(empty)
	if err != nil {
		return decision{}, err
	}
	d, err := s.toDocument(merged)
	if err != nil {
		return decision{}, err
	}
	if err := s.setNamespace(d, namespace); err != nil {
		return decision{}, err
	}
	if err := checkName(d, name); err != nil {
		return decision{}, err
	}
	if uid, _ := d.md["uid"].(string); uid != "" {
		return decision{}, api.Errorf(api.ErrConflict,
			"Operation cannot be fulfilled on %s %q: uid mismatch: the provided object specified uid %s, and no existing object was found",
			s.res.GroupResource(), name, uid)
	}
	if rv, _ := d.md["resourceVersion"].(string); rv != "" {
		return decision{}, s.notFound(name)
	}
	d.md["uid"] = newUID()
	d.md["creationTimestamp"] = nowTimestamp()
	stampCreate(d)
	if err := s.validatePatched(d, nil); err != nil {
		return decision{}, err
	}
	val, obj, err := s.codec.encode(s.key(namespace, name), d)
	if err != nil {
		return decision{}, err
	}
	return decision{put: val, obj: obj, created: true}, nil
}
