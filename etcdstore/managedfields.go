package etcdstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/api"
)

// metadata.managedFields (B210), kept by apimachinery's field manager as
// kube-apiserver keeps it: every create, update and patch is recorded as
// an Update by its manager, and a server-side apply merges the applied
// fields with those other managers own. Built-in kinds are typed by the
// structured-merge-diff schemas client-go ships (those of its apply
// configurations); any other kind by a schema deduced from the object
// (every field atomic), as kube-apiserver treats a custom resource without
// a structural schema. Objects cross into the field manager as
// unstructured values of the one served version, so no conversion or
// defaulting takes place.

// fieldManagers holds one field manager per group-version-kind, built on
// first use. The managers are safe for concurrent use.
var fieldManagers sync.Map // schema.GroupVersionKind -> *managedfields.FieldManager

// fieldManager returns the field manager of the store's kind.
func (s *Store) fieldManager() (*managedfields.FieldManager, error) {
	gvk := s.gvk()
	if fm, ok := fieldManagers.Load(gvk); ok {
		return fm.(*managedfields.FieldManager), nil
	}
	fm, err := managedfields.NewDefaultFieldManager(typeConverter(gvk), unstructuredVersion{gvk.GroupVersion()},
		noDefaults{}, unstructuredCreater{}, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		return nil, fmt.Errorf("etcdstore: field manager of %v: %w", gvk, err)
	}
	got, _ := fieldManagers.LoadOrStore(gvk, fm)
	return got.(*managedfields.FieldManager), nil
}

func (s *Store) gvk() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: s.res.Group, Version: s.res.Version, Kind: s.res.Kind}
}

// builtinTypes is the type converter of client-go's built-in kinds.
var builtinTypes = sync.OnceValue(func() managedfields.TypeConverter {
	return applyconfigurations.NewTypeConverter(scheme.Scheme)
})

// typeConverter is client-go's schema for a kind it knows, else a
// deduced one.
func typeConverter(gvk schema.GroupVersionKind) managedfields.TypeConverter {
	if _, err := scheme.Scheme.New(gvk); err == nil {
		tc := builtinTypes()
		probe := &unstructured.Unstructured{}
		probe.SetGroupVersionKind(gvk)
		if _, err := tc.ObjectToTyped(probe); err == nil {
			return tc
		}
	}
	return managedfields.NewDeducedTypeConverter()
}

// unstructuredVersion is the field manager's object converter: every
// object is already of the one version served, and stays unstructured.
type unstructuredVersion struct{ gv schema.GroupVersion }

func (c unstructuredVersion) Convert(in, out, _ any) error {
	return fmt.Errorf("etcdstore: no conversion from %T to %T", in, out)
}

func (c unstructuredVersion) ConvertToVersion(in runtime.Object, gv runtime.GroupVersioner) (runtime.Object, error) {
	if t, ok := gv.(schema.GroupVersion); ok && t == c.gv {
		return in, nil
	}
	if _, ok := gv.KindForGroupVersionKinds([]schema.GroupVersionKind{in.GetObjectKind().GroupVersionKind()}); ok {
		return in, nil
	}
	return nil, fmt.Errorf("etcdstore: %v is the only version served", c.gv)
}

func (c unstructuredVersion) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

// noDefaults is the field manager's defaulter: objects are stored as
// written, without defaults (as every other write here).
type noDefaults struct{}

func (noDefaults) Default(runtime.Object) {}

// unstructuredCreater makes the empty object a create starts from.
type unstructuredCreater struct{}

func (unstructuredCreater) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// toUnstructured turns a JSON object (numbers as json.Number, as
// documents hold them) into the unstructured form the field manager reads
// (int64 and float64).
func toUnstructured(obj map[string]any) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return rawToUnstructured(b)
}

func rawToUnstructured(raw []byte) (*unstructured.Unstructured, error) {
	m := map[string]any{}
	if err := utiljson.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// fromUnstructured is obj as a document's JSON (numbers as json.Number).
func fromUnstructured(u runtime.Object) (map[string]any, error) {
	un, ok := u.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("etcdstore: the field manager answered a %T", u)
	}
	b, err := json.Marshal(un.Object)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	return out, dec.Decode(&out)
}

// trackUpdate records d, about to replace live (nil for a create), as an
// Update by manager in d's managedFields, as kube-apiserver does for
// every write that is not an apply. When the field manager cannot read
// the objects the managedFields of live are kept.
func (s *Store) trackUpdate(d document, live *api.Object, manager string) {
	fm, err := s.fieldManager()
	if err != nil {
		return
	}
	newObj, err := toUnstructured(d.obj)
	if err != nil {
		return
	}
	var liveObj runtime.Object
	if live == nil {
		liveObj, _ = unstructuredCreater{}.New(s.gvk())
	} else if liveObj, err = rawToUnstructured(live.Raw); err != nil {
		return
	}
	out, ok := fm.UpdateNoErrors(liveObj, newObj, manager).(*unstructured.Unstructured)
	if !ok {
		return
	}
	setManagedFields(d, out)
}

// setManagedFields copies u's managedFields into d (removing d's when u
// has none).
func setManagedFields(d document, u *unstructured.Unstructured) {
	mf, found, _ := unstructured.NestedFieldNoCopy(u.Object, "metadata", "managedFields")
	if !found || mf == nil {
		delete(d.md, "managedFields")
		return
	}
	b, err := json.Marshal(mf)
	if err != nil {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil {
		d.md["managedFields"] = v
	}
}
