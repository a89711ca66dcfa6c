package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	metainternalversionscheme "k8s.io/apimachinery/pkg/apis/meta/internalversion/scheme"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/watchcached/watchcached/api"
)

// The options of a write that are not its body (B210-B212): dryRun,
// fieldManager, force and fieldValidation, read from the query as
// kube-apiserver reads them into CreateOptions, UpdateOptions or
// PatchOptions (a delete's dryRun comes with its DeleteOptions,
// http_delete.go), checked by apimachinery's validation of those options
// (422 Invalid naming the options kind) and handed to the storage in the
// write's context (api.WithWriteOptions). What the write reports back
// (warnings, an apply that created its object) comes back through an
// api.Report.

// writeOptions reads and validates the options of a create, update or
// patch of type pt from q; userAgent names the manager when the query
// names none.
func writeOptions(q url.Values, verb string, pt api.PatchType, userAgent string) (api.WriteOptions, error) {
	var o api.WriteOptions
	var dryRun []string
	var errs field.ErrorList
	var kind string
	switch verb {
	case verbCreate:
		var c metav1.CreateOptions
		if err := decodeOptions(q, &c); err != nil {
			return o, err
		}
		kind, dryRun, o.FieldManager, o.FieldValidation = "CreateOptions", c.DryRun, c.FieldManager, c.FieldValidation
		errs = metavalidation.ValidateCreateOptions(&c)
	case verbUpdate:
		var u metav1.UpdateOptions
		if err := decodeOptions(q, &u); err != nil {
			return o, err
		}
		kind, dryRun, o.FieldManager, o.FieldValidation = "UpdateOptions", u.DryRun, u.FieldManager, u.FieldValidation
		errs = metavalidation.ValidateUpdateOptions(&u)
	default:
		var p metav1.PatchOptions
		if err := decodeOptions(q, &p); err != nil {
			return o, err
		}
		kind, dryRun, o.FieldManager, o.FieldValidation = "PatchOptions", p.DryRun, p.FieldManager, p.FieldValidation
		o.Force = p.Force != nil && *p.Force
		errs = metavalidation.ValidatePatchOptions(&p, optionsPatchType(pt))
	}
	if len(errs) > 0 {
		return o, optionsInvalid(kind, errs)
	}
	o.DryRun = len(dryRun) > 0
	o.FieldManager = managerOrUserAgent(o.FieldManager, userAgent)
	return o, nil
}

// optionsPatchType is the patch type the options are validated for: a
// type no storage applies counts as no apply, so that it gets the
// storage's 415 (as kube-apiserver checks the type first) rather than an
// apply's option errors.
func optionsPatchType(pt api.PatchType) types.PatchType {
	if pt == api.ApplyPatch {
		return types.ApplyYAMLPatchType
	}
	return types.MergePatchType
}

// decodeOptions decodes the query into options with kube-apiserver's
// parameter codec; a value that does not decode is 400.
func decodeOptions(q url.Values, into runtime.Object) error {
	if err := metainternalversionscheme.ParameterCodec.DecodeParameters(q, metav1.SchemeGroupVersion, into); err != nil {
		return api.Errorf(api.ErrBadRequest, "%v", err)
	}
	return nil
}

// validateDryRun is apimachinery's check of a delete's dryRun values.
func validateDryRun(dryRun []string) error {
	if errs := metavalidation.ValidateDryRun(field.NewPath("dryRun"), dryRun); len(errs) > 0 {
		return optionsInvalid("DeleteOptions", errs)
	}
	return nil
}

// optionsInvalid is kube-apiserver's 422 for options that do not
// validate: `<Kind>.meta.k8s.io "" is invalid: <errors>`, one cause per
// field error.
func optionsInvalid(kind string, errs field.ErrorList) *api.Error {
	causes := make([]api.Cause, len(errs))
	for i, e := range errs {
		causes[i] = api.Cause{Type: string(e.Type), Field: e.Field, Message: e.ErrorBody()}
	}
	return &api.Error{
		Err:     api.ErrInvalid,
		Message: fmt.Sprintf("%s.%s %q is invalid: %v", kind, metav1.GroupName, "", errs.ToAggregate()),
		Causes:  causes,
		Kind:    kind,
		Group:   metav1.GroupName,
	}
}

// managerOrUserAgent is the manager a write is recorded under: the
// request's fieldManager, else its user agent up to the first '/',
// without unprintable characters and cut to the longest manager name
// allowed, as kube-apiserver derives it.
func managerOrUserAgent(manager, userAgent string) string {
	if manager != "" {
		return manager
	}
	prefix, _, _ := strings.Cut(userAgent, "/")
	var b strings.Builder
	for _, r := range prefix {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > metavalidation.FieldManagerMaxLength {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// withReport returns ctx carrying o and a new Report for the write.
func withReport(ctx context.Context, o api.WriteOptions) (context.Context, *api.Report) {
	return api.WithReport(api.WithWriteOptions(ctx, o))
}

// writeWarnings sets one Warning header per warning the write earned, in
// kube-apiserver's form: `299 - "<text>"`.
func writeWarnings(w http.ResponseWriter, rep *api.Report) {
	for _, msg := range rep.Warnings() {
		if h, err := utilnet.NewWarningHeader(299, "-", msg); err == nil {
			w.Header().Add("Warning", h)
		}
	}
}
