package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
)

// DELETE (B52, B62, B211). The options come from the body, a DeleteOptions
// in JSON or in Kubernetes protobuf (client-go's typed clients), or, when
// there is no body, from the query, as in kube-apiserver. The server
// honours the preconditions, dryRun (validated as kube-apiserver does:
// only All) and ignoreStoreReadErrorWithClusterBreakingPotential, and
// reads the other fields only to refuse what kube-apiserver refuses
// together with that option.

// ignoreReadErrorOption is the option that removes a corrupt value.
const ignoreReadErrorOption = "ignoreStoreReadErrorWithClusterBreakingPotential"

// deleteOptions is the part of a DeleteOptions the server reads. Of
// gracePeriodSeconds, propagationPolicy and orphanDependents only the
// presence counts.
type deleteOptions struct {
	Kind          string   `json:"kind"`
	DryRun        []string `json:"dryRun"`
	Preconditions *struct {
		UID             *string `json:"uid"`
		ResourceVersion *string `json:"resourceVersion"`
	} `json:"preconditions"`
	IgnoreStoreReadError *bool   `json:"ignoreStoreReadErrorWithClusterBreakingPotential"`
	GracePeriodSeconds   *int64  `json:"gracePeriodSeconds"`
	PropagationPolicy    *string `json:"propagationPolicy"`
	OrphanDependents     *bool   `json:"orphanDependents"`
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	opts, ok := s.readDeleteOptions(w, r, req)
	if !ok {
		return
	}
	if err := opts.validate(); err != nil {
		writeError(w, s.log, err, req)
		return
	}
	if opts.ignoreReadError() {
		s.serveDeleteCorrupt(w, r.WithContext(opts.context(r.Context())), req, q)
		return
	}
	var pre api.Preconditions
	if p := opts.Preconditions; p != nil {
		pre.UID, pre.ResourceVersion = p.UID, p.ResourceVersion
	}
	obj, err := req.delete(opts.context(r.Context()), pre, q.timeoutSeconds)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	s.writeObject(w, r, req, http.StatusOK, obj)
}

// readDeleteOptions reads the options of a delete: 400 for a body that
// is not a DeleteOptions in JSON, 415 for protobuf that does not
// translate, 422 for a dryRun other than All.
// It writes the error response itself and reports whether to go on.
func (s *Server) readDeleteOptions(w http.ResponseWriter, r *http.Request, req *request) (deleteOptions, bool) {
	var opts deleteOptions
	body, ok := s.readBody(w, r)
	if !ok {
		return opts, false
	}
	if len(body) == 0 {
		err := opts.fromQuery(r.URL.Query())
		if err == nil {
			err = validateDryRun(opts.DryRun)
		}
		if err != nil {
			writeError(w, s.log, err, req)
		}
		return opts, err == nil
	}
	if isProtobufBody(r) {
		var st *metav1.Status
		if body, st = protobufToJSON(body); st != nil {
			writeStatus(w, st)
			return opts, false
		}
	}
	if err := json.Unmarshal(body, &opts); err != nil {
		writeError(w, s.log, api.Errorf(api.ErrBadRequest, "invalid DeleteOptions: %v", err), req)
		return opts, false
	}
	if opts.Kind != "" && opts.Kind != "DeleteOptions" {
		writeError(w, s.log, api.Errorf(api.ErrBadRequest, "invalid DeleteOptions: the body is a %s", opts.Kind), req)
		return opts, false
	}
	if len(opts.DryRun) == 0 {
		// Beyond kube-apiserver, which reads only the body: a dryRun in the
		// query is honoured too, so that no delete asked to be a dry run is
		// carried out (B211).
		opts.DryRun = r.URL.Query()["dryRun"]
	}
	if err := validateDryRun(opts.DryRun); err != nil {
		writeError(w, s.log, err, req)
		return opts, false
	}
	return opts, true
}

// context is ctx carrying the delete's dry run (B211).
func (o *deleteOptions) context(ctx context.Context) context.Context {
	return api.WithWriteOptions(ctx, api.WriteOptions{DryRun: len(o.DryRun) > 0})
}

// fromQuery reads the options of a delete without a body from its query.
func (o *deleteOptions) fromQuery(q url.Values) error {
	ignore, err := optionalBoolParam(q, ignoreReadErrorOption)
	if err != nil {
		return err
	}
	o.IgnoreStoreReadError = ignore
	o.DryRun = q["dryRun"]
	if q.Get("gracePeriodSeconds") != "" {
		o.GracePeriodSeconds = new(int64)
	}
	if q.Get("propagationPolicy") != "" {
		o.PropagationPolicy = new(string)
	}
	if q.Get("orphanDependents") != "" {
		o.OrphanDependents = new(bool)
	}
	return nil
}

func (o *deleteOptions) ignoreReadError() bool {
	return o.IgnoreStoreReadError != nil && *o.IgnoreStoreReadError
}

// validate refuses, with kube-apiserver's 422 and wording, the options
// that may not come with ignoreStoreReadErrorWithClusterBreakingPotential.
func (o *deleteOptions) validate() error {
	if !o.ignoreReadError() {
		return nil
	}
	var msgs []string
	for _, c := range []struct {
		set   bool
		field string
	}{
		{o.PropagationPolicy != nil, "propagationPolicy"},
		{o.OrphanDependents != nil, "orphanDependents"},
		{o.GracePeriodSeconds != nil, "gracePeriodSeconds"},
		{o.Preconditions != nil, "preconditions"},
	} {
		if c.set {
			msgs = append(msgs, fmt.Sprintf("%s: Invalid value: true: cannot be set together with .%s", ignoreReadErrorOption, c.field))
		}
	}
	const prefix = `DeleteOptions.meta.k8s.io "" is invalid: `
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		return &api.Error{Err: api.ErrInvalid, Field: ignoreReadErrorOption, Message: prefix + msgs[0]}
	default: // kube-apiserver's aggregate; the Status then has no single cause to name
		return api.Errorf(api.ErrInvalid, "%s[%s]", prefix, strings.Join(msgs, ", "))
	}
}

// serveDeleteCorrupt removes a value that does not decode (B62) and
// answers as kube-apiserver does for it: a Success Status naming the
// object, since there is no object to return.
func (s *Server) serveDeleteCorrupt(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	cd, ok := req.entry.storage.(api.CorruptDeleter)
	if !ok {
		writeStatus(w, newStatus(http.StatusInternalServerError, metav1.StatusReasonInternalError,
			internalErrorPrefix+"no unsafe deleter provided, can not honor "+ignoreReadErrorOption))
		return
	}
	ctx, cancel := requestContext(r.Context(), q.timeoutSeconds)
	defer cancel()
	if err := cd.DeleteCorrupt(ctx, req.namespace, req.name); err != nil {
		writeError(w, s.log, err, req)
		return
	}
	writeJSONValue(w, http.StatusOK, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Code:     http.StatusOK,
		Details:  &metav1.StatusDetails{Name: req.name, Kind: req.entry.res.Kind},
	})
}
