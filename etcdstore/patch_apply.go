package etcdstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/api"
)

// How each patch type applies to the current object's JSON (B53, B75,
// B76), as kube-apiserver's patch handler applies it. The patch is parsed
// once, before the compare-and-swap loop; each round applies it to the
// object it sees. Functions only: safe for concurrent use.

// maxJSONPatchOperations bounds the operations of one JSON patch, as in
// kube-apiserver.
const maxJSONPatchOperations = 10000

// applyFunc applies a parsed patch to an object (which it may modify)
// and returns the patched object.
type applyFunc func(obj map[string]any) (map[string]any, error)

// patcher parses patch and returns how to apply it, or the error for a
// patch that does not parse or a type the resource does not accept.
func (s *Store) patcher(patch api.Patch, o api.WriteOptions) (applyFunc, error) {
	schemaObj, builtin := s.patchSchema()
	switch patch.Type {
	case api.ApplyPatch:
		return s.applyPatcher(patch.Data, o)
	case api.MergePatch:
		return mergePatcher(patch.Data)
	case api.JSONPatch:
		return jsonPatcher(patch.Data)
	case api.StrategicMergePatch:
		if builtin {
			return strategicPatcher(patch.Data, schemaObj)
		}
	}
	return nil, api.UnsupportedPatch(api.PatchTypes(builtin))
}

// patchSchema returns a new object of the resource's Go type from
// client-go's scheme, and whether there is one (a built-in kind, the
// only ones a strategic merge patch applies to).
func (s *Store) patchSchema() (runtime.Object, bool) {
	gvk := schema.GroupVersionKind{Group: s.res.Group, Version: s.res.Version, Kind: s.res.Kind}
	obj, err := scheme.Scheme.New(gvk)
	return obj, err == nil
}

// mergePatcher parses an RFC 7386 JSON merge patch, which must be an
// object.
func mergePatcher(data []byte) (applyFunc, error) {
	patch, err := parseObject(data, "patch")
	if err != nil {
		return nil, err
	}
	return func(obj map[string]any) (map[string]any, error) {
		merged, ok := mergeJSON(obj, patch).(map[string]any)
		if !ok {
			return nil, api.Errorf(api.ErrBadRequest, "the patched object is not a JSON object")
		}
		return merged, nil
	}, nil
}

// jsonPatcher parses an RFC 6902 JSON patch with the library
// kube-apiserver uses: a patch that does not decode is ErrBadRequest with
// the library's message, one of more than maxJSONPatchOperations
// operations is ErrTooLarge, and one that does not apply (a failed test,
// a missing path) is kube-apiserver's generic 422, which does not repeat
// the library's message.
func jsonPatcher(data []byte) (applyFunc, error) {
	patch, err := jsonpatch.DecodePatch(data)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	if len(patch) > maxJSONPatchOperations {
		return nil, api.TooLarge("The allowed maximum operations in a JSON patch is %d, got %d",
			maxJSONPatchOperations, len(patch))
	}
	return func(obj map[string]any) (map[string]any, error) {
		doc, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("etcdstore: encoding the object to patch: %w", err)
		}
		out, err := patch.Apply(doc)
		if err != nil {
			return nil, api.Errorf(api.ErrInvalid, "the server rejected our request due to an error in our request")
		}
		return parseObject(out, "patched object")
	}, nil
}

// strategicPatcher parses a strategic merge patch (a JSON object) for
// the Go type of schemaObj, whose struct tags give the merge keys and
// strategies. Errors are worded as kube-apiserver's: a malformed patch
// is ErrBadRequest, a list of lists or a retainKeys mismatch ErrInvalid.
func strategicPatcher(data []byte, schemaObj runtime.Object) (applyFunc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var patch map[string]any
	if err := dec.Decode(&patch); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	return func(obj map[string]any) (map[string]any, error) {
		out, err := strategicpatch.StrategicMergeMapPatch(obj, copyJSON(patch), schemaObj)
		if err != nil {
			return nil, strategicError(err)
		}
		return out, nil
	}, nil
}

// strategicError is kube-apiserver's answer to a strategic merge patch
// that does not apply. Where kube-apiserver answers a 500 (an error the
// library does not name), this answers ErrBadRequest: the patch is at
// fault, not the server.
func strategicError(err error) error {
	switch {
	case errors.Is(err, mergepatch.ErrNoListOfLists), errors.Is(err, mergepatch.ErrPatchContentNotMatchRetainKeys):
		return api.Errorf(api.ErrInvalid, "the server rejected our request due to an error in our request")
	}
	return api.Errorf(api.ErrBadRequest, "%v", err)
}

// copyJSON deep-copies a parsed JSON value, so that each round of the
// loop patches with the patch as parsed (the library may modify it).
func copyJSON(v any) map[string]any {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	_ = dec.Decode(&out)
	return out
}
