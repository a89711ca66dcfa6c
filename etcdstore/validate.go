package etcdstore

import (
	"encoding/json"
	"fmt"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"

	"github.com/watchcached/watchcached/api"
)

// Validation of every object a write stores (B70), as kube-apiserver's
// generic registry validates it before it reaches etcd: the body must
// decode into the kind's Go type (a built-in kind of client-go's scheme;
// any other kind into its metadata only), the same decoder typed clients
// use, so nothing stored can break them; then the metadata rules of
// apimachinery's ValidateObjectMetaAccessor for a create (name and
// namespace format per kind, labels, annotations, owner references,
// finalizers) and ValidateObjectMetaAccessorUpdate for an update or patch
// (immutable uid, labels, annotations, owner references), as the generic
// registry runs them. Unknown
// fields are kept, as fieldValidation=Ignore would (item 2 of issue 14
// brings Warn and Strict). The functions are pure and safe for concurrent
// use.

// dnsLabelKinds are the kinds kube-apiserver names with DNS-1123 labels;
// dns1035Kinds those it names with DNS-1035 labels. Every other kind uses
// DNS-1123 subdomains (pkg/apis/core/validation and friends).
var (
	dnsLabelKinds = map[schema.GroupKind]bool{
		{Kind: "Namespace"}:                  true,
		{Group: "apps", Kind: "StatefulSet"}: true,
	}
	dns1035Kinds = map[schema.GroupKind]bool{
		{Kind: "Service"}: true,
	}
)

// nameFunc is the name validation kube-apiserver applies to kind gk.
func nameFunc(gk schema.GroupKind) apivalidation.ValidateNameFunc {
	switch {
	case dnsLabelKinds[gk]:
		return apivalidation.NameIsDNSLabel
	case dns1035Kinds[gk]:
		return apivalidation.NameIsDNS1035Label
	}
	return apivalidation.NameIsDNSSubdomain
}

// validateWrite checks the object d a create or update is about to store;
// old is the stored object it replaces (nil for a create). A body that does
// not decode into the kind's type is ErrBadRequest worded as
// kube-apiserver's decoder error; metadata that breaks a rule is
// ErrInvalid with one cause per field error.
func (s *Store) validateWrite(d document, old *api.Object) error {
	return s.validate(d, old, s.undecodableBody)
}

// validatePatched is validateWrite for the result d of patching old: an
// object that does not decode is kube-apiserver's patch error, 422 Invalid
// on the field "patch" with the patched object as the value and no kind or
// name.
func (s *Store) validatePatched(d document, old *api.Object) error {
	return s.validate(d, old, undecodablePatch)
}

// decodeFailure words the error for raw, which does not decode (err).
type decodeFailure func(raw []byte, err error) error

func (s *Store) validate(d document, old *api.Object, bad decodeFailure) error {
	raw, err := json.Marshal(d.obj)
	if err != nil {
		return api.Errorf(api.ErrBadRequest, "the object cannot be encoded: %v", err)
	}
	newMeta, err := s.decodeTyped(raw)
	if err != nil {
		return bad(raw, err)
	}
	gk := schema.GroupKind{Group: s.res.Group, Kind: s.res.Kind}
	md := field.NewPath("metadata")
	var errs field.ErrorList
	if old == nil {
		errs = apivalidation.ValidateObjectMetaAccessor(newMeta, s.res.Namespaced, nameFunc(gk), md)
	} else {
		errs = updateErrs(newMeta, old, md)
	}
	if len(errs) == 0 {
		return nil
	}
	return invalid(gk, newMeta.GetName(), errs)
}

// undecodableBody is kube-apiserver's answer to a create or update body
// that does not decode into the kind's type.
func (s *Store) undecodableBody(_ []byte, err error) error {
	return api.Errorf(api.ErrBadRequest, "%s in version %q cannot be handled as a %s: %v",
		s.res.Kind, s.res.Version, s.res.Kind, err)
}

// undecodablePatch is kube-apiserver's answer to a patch whose result raw
// does not decode into the kind's type.
func undecodablePatch(raw []byte, err error) error {
	return invalid(schema.GroupKind{}, "", field.ErrorList{field.Invalid(field.NewPath("patch"), string(raw), err.Error())})
}

// updateErrs are the metadata errors of newMeta replacing the stored old
// (none when old's metadata does not decode: it is replaced as it is).
func updateErrs(newMeta metav1.Object, old *api.Object, md *field.Path) field.ErrorList {
	var o struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(old.Raw, &o); err != nil {
		return nil
	}
	// As kube-apiserver's BeforeUpdate: the update is at the stored RV and
	// keeps its generation and deletion mark (all server-set; the write
	// path carries them over after validation, carryLifecycle).
	newMeta.SetResourceVersion(api.FormatRV(old.RV))
	newMeta.SetGeneration(o.Metadata.Generation)
	if o.Metadata.DeletionTimestamp != nil {
		newMeta.SetDeletionTimestamp(o.Metadata.DeletionTimestamp)
	}
	if o.Metadata.DeletionGracePeriodSeconds != nil && newMeta.GetDeletionGracePeriodSeconds() == nil {
		newMeta.SetDeletionGracePeriodSeconds(o.Metadata.DeletionGracePeriodSeconds)
	}
	return apivalidation.ValidateObjectMetaAccessorUpdate(newMeta, &o.Metadata, md)
}

// decodeTyped decodes raw into the kind's Go type (its metadata only for
// a kind outside client-go's scheme) and returns the object's metadata;
// the error is the decoder's, as kube-apiserver quotes it.
func (s *Store) decodeTyped(raw []byte) (metav1.Object, error) {
	gvk := schema.GroupVersionKind{Group: s.res.Group, Version: s.res.Version, Kind: s.res.Kind}
	var into any
	var meta metav1.Object
	if typed, err := scheme.Scheme.New(gvk); err == nil {
		acc, ok := typed.(metav1.Object)
		if !ok {
			return nil, fmt.Errorf("%s has no object metadata", gvk.Kind)
		}
		into, meta = typed, acc
	} else {
		pm := &metav1.PartialObjectMetadata{}
		into, meta = pm, pm
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, into); err != nil {
		return nil, err
	}
	return meta, nil
}

// invalid is kube-apiserver's NewInvalid: `<Kind[.group]> "<name>" is
// invalid: <errors>` with one cause per field error.
func invalid(gk schema.GroupKind, name string, errs field.ErrorList) *api.Error {
	causes := make([]api.Cause, 0, len(errs))
	for _, e := range errs {
		causes = append(causes, api.Cause{Type: string(e.Type), Field: e.Field, Message: e.ErrorBody()})
	}
	return &api.Error{
		Err:     api.ErrInvalid,
		Message: fmt.Sprintf("%s %q is invalid: %v", gk.String(), name, errs.ToAggregate()),
		Causes:  causes,
		Kind:    gk.Kind,
		Group:   gk.Group,
		Name:    name,
	}
}
