package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/watchcached/watchcached/api"
)

// The autoscaling/v1 Scale of an object (B222, B223), as kube-apiserver's
// scale subresources compute it: the object's name, namespace, uid,
// resourceVersion and creationTimestamp, spec.replicas from the
// configured spec path, status.replicas from the status path and
// status.selector from the selector path, rendered as a label-selector
// string. Pure functions over an object's JSON; safe for concurrent use.

// scaleObject is the Scale of obj.
func scaleObject(r *api.Resource, obj *api.Object) (*autoscalingv1.Scale, error) {
	sc := r.ScaleConfig()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(obj.Raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "cannot read %s %q: %v", r.GroupResource(), obj.Name, err)
	}
	var meta struct {
		CreationTimestamp metav1.Time `json:"creationTimestamp"`
	}
	if md, err := json.Marshal(doc["metadata"]); err == nil {
		_ = json.Unmarshal(md, &meta)
	}
	out := &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: obj.Name, Namespace: obj.Namespace, UID: types.UID(obj.UID),
			ResourceVersion: api.FormatRV(obj.RV), CreationTimestamp: meta.CreationTimestamp},
	}
	spec, found := lookupPath(doc, sc.SpecReplicasPath)
	switch {
	case !found && isBuiltinReplicated(r):
		out.Spec.Replicas = 1 // kube-apiserver's defaulting stores 1 for an unset count
	default:
		out.Spec.Replicas = int32(jsonInt(spec))
	}
	status, _ := lookupPath(doc, sc.StatusReplicasPath)
	out.Status.Replicas = int32(jsonInt(status))
	if sc.LabelSelectorPath != "" {
		sel, err := selectorString(lookupPath(doc, sc.LabelSelectorPath))
		if err != nil {
			return nil, api.Errorf(api.ErrBadRequest, "%v", err)
		}
		out.Status.Selector = sel
	}
	return out, nil
}

// scaleOf is the JSON of obj's Scale, as a response body.
func scaleOf(r *api.Resource, obj *api.Object) ([]byte, error) {
	sc, err := scaleObject(r, obj)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// isBuiltinReplicated reports whether r is one of the built-in kinds
// whose unset spec.replicas kube-apiserver defaults to 1.
func isBuiltinReplicated(r *api.Resource) bool {
	return r.Group == "apps" && (r.Kind == "Deployment" || r.Kind == "ReplicaSet" || r.Kind == "StatefulSet")
}

// lookupPath reads the member at a simple JSON path (".spec.replicas").
func lookupPath(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, m := range api.SplitPath(path) {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[m]; !ok {
			return nil, false
		}
	}
	return v, true
}

// jsonInt is a JSON number as an integer (0 for anything else).
func jsonInt(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return 0
	}
	i, err := n.Int64()
	if err != nil {
		f, _ := n.Float64()
		return int64(f)
	}
	return i
}

// selectorString renders a selector found at the selector path: a string
// is taken as it is, an object is a metav1.LabelSelector.
func selectorString(v any, found bool) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case map[string]any:
		b, _ := json.Marshal(t)
		var ls metav1.LabelSelector
		if err := json.Unmarshal(b, &ls); err != nil {
			return "", fmt.Errorf("invalid label selector: %v", err)
		}
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err != nil {
			return "", err
		}
		return sel.String(), nil
	}
	return "", nil
}

// newScale is the Scale a write asks for: the body of a PUT (an
// autoscaling/v1 Scale naming the object), or old patched.
func newScale(req *request, old *autoscalingv1.Scale, body []byte, pt api.PatchType) (*autoscalingv1.Scale, error) {
	if req.verb == verbPatch {
		var err error
		if body, err = patchScale(old, body, pt); err != nil {
			return nil, err
		}
	}
	var sc autoscalingv1.Scale
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&sc); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "the body of the request is not a valid Scale: %v", err)
	}
	switch {
	case sc.Kind != "" && sc.Kind != "Scale" || sc.APIVersion != "" && sc.APIVersion != "autoscaling/v1":
		return nil, api.Errorf(api.ErrBadRequest, "the body of the request must be an autoscaling/v1 Scale, not %s %s", sc.APIVersion, sc.Kind)
	case sc.Name != "" && sc.Name != req.name:
		return nil, api.NameMismatch(sc.Name, req.name)
	case sc.Spec.Replicas < 0:
		detail := fmt.Sprintf("Invalid value: %d: must be greater than or equal to 0", sc.Spec.Replicas)
		return nil, &api.Error{Err: api.ErrInvalid, Message: fmt.Sprintf("Scale.autoscaling %q is invalid: spec.replicas: %s", req.name, detail),
			Causes: []api.Cause{{Type: string(metav1.CauseTypeFieldValueInvalid), Field: "spec.replicas", Message: detail}},
			Kind:   "Scale", Group: "autoscaling", Name: req.name}
	}
	return &sc, nil
}

// patchScale applies a patch of one of the three patch types to old.
func patchScale(old *autoscalingv1.Scale, patch []byte, pt api.PatchType) ([]byte, error) {
	orig, err := json.Marshal(old)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch pt {
	case api.MergePatch:
		out, err = jsonpatch.MergePatch(orig, patch)
	case api.JSONPatch:
		var p jsonpatch.Patch
		if p, err = jsonpatch.DecodePatch(patch); err != nil {
			return nil, api.Errorf(api.ErrBadRequest, "%v", err)
		}
		out, err = p.Apply(orig)
	case api.StrategicMergePatch:
		out, err = strategicpatch.StrategicMergePatch(orig, patch, &autoscalingv1.Scale{})
	default:
		return nil, api.UnsupportedPatch(api.PatchTypes(true))
	}
	if err != nil {
		return nil, api.Errorf(api.ErrInvalid, "the patch could not be applied to the Scale: %v", err)
	}
	return out, nil
}

// replicasPatch is the merge patch that sets the object's replicas, on
// the condition that its resourceVersion is rv.
func replicasPatch(sc *api.ScaleSubresource, rv string, replicas int32) api.Patch {
	return api.NewMergePatch(nestedPatch(rv, api.SplitPath(sc.SpecReplicasPath), replicas))
}

// nestedPatch builds {"metadata":{"resourceVersion":rv},"a":{"b":n}} for
// the path [a b].
func nestedPatch(rv string, path []string, n int32) []byte {
	var v any = n
	for i := len(path) - 1; i >= 0; i-- {
		v = map[string]any{path[i]: v}
	}
	top := v.(map[string]any)
	md, _ := top["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		top["metadata"] = md
	}
	md["resourceVersion"] = rv
	b, _ := json.Marshal(top)
	return b
}

// isConflict reports whether err is a Conflict.
func isConflict(err error) bool { return errors.Is(err, api.ErrConflict) }
