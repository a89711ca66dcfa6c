package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/watchcached/watchcached/api"
)

// serveSubresource serves GET, PUT and PATCH of an object's status or
// scale (B220-B223). A GET of status is the object itself, as in
// kube-apiserver; its writes go to the storage's api.StatusWriter. The
// scale is computed from the object (scale.go) and written back as a
// merge patch of the replicas field.
func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	switch {
	case req.subresource == subScale:
		s.serveScale(w, r, req, q)
	case req.verb == verbGet:
		s.serveGet(w, r, req, q)
	default:
		s.serveStatusWrite(w, r, req, q)
	}
}

// serveStatusWrite is a PUT or PATCH of <object>/status.
func (s *Server) serveStatusWrite(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	sw, ok := req.entry.storage.(api.StatusWriter)
	if !ok {
		writeNotFound(w)
		return
	}
	body, ctx, rep, ok := s.readSubresourceWrite(w, r, req)
	if !ok {
		return
	}
	ctx, cancel := requestContext(ctx, q.timeoutSeconds)
	defer cancel()
	var obj *api.Object
	var err error
	if req.verb == verbPatch {
		obj, err = sw.PatchStatus(ctx, req.namespace, req.name, api.Patch{Type: patchType(r), Data: body})
	} else {
		obj, err = sw.UpdateStatus(ctx, req.namespace, req.name, body)
	}
	writeWarnings(w, rep)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	writeBody(w, r, http.StatusOK, obj.Raw)
}

// readSubresourceWrite reads the body of a status or scale write (a
// patch as sent, an object in JSON or protobuf) and its options
// (subresourceWriteContext); on a bad body or option it writes the error
// and reports false.
func (s *Server) readSubresourceWrite(w http.ResponseWriter, r *http.Request, req *request) ([]byte, context.Context, *api.Report, bool) {
	var body []byte
	var ok bool
	if req.verb == verbPatch {
		body, ok = s.readBody(w, r)
	} else {
		body, ok = s.readObject(w, r, mediaJSON)
	}
	if !ok {
		return nil, nil, nil, false
	}
	ctx, rep, ok := s.subresourceWriteContext(w, r, req)
	return body, ctx, rep, ok
}

// subresourceWriteContext reads the write options of a status or scale
// write (dryRun, fieldManager, fieldValidation: B210-B212) into the
// request's context; on a bad option it writes the error and reports
// false. The managedFields entry such a write records does not name the
// subresource (kube-apiserver's does).
func (s *Server) subresourceWriteContext(w http.ResponseWriter, r *http.Request, req *request) (context.Context, *api.Report, bool) {
	var pt api.PatchType
	if req.verb == verbPatch {
		pt = patchType(r)
	}
	opts, err := writeOptions(r.URL.Query(), req.verb, pt, r.UserAgent())
	if err != nil {
		writeError(w, s.log, err, req)
		return nil, nil, false
	}
	ctx, rep := withReport(r.Context(), opts)
	return ctx, rep, true
}

// serveScale is a GET, PUT or PATCH of <object>/scale.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	sc := req.entry.res.ScaleConfig()
	var obj *api.Object
	var err error
	switch req.verb {
	case verbGet:
		obj, err = req.get(r.Context(), q)
	default:
		body, ctx, rep, ok := s.readSubresourceWrite(w, r, req)
		if !ok {
			return
		}
		ctx, cancel := requestContext(ctx, q.timeoutSeconds)
		defer cancel()
		obj, err = s.writeScale(ctx, req, sc, body, patchType(r))
		writeWarnings(w, rep)
	}
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	scale, err := scaleOf(req.entry.res, obj)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	writeBody(w, r, http.StatusOK, scale)
}

// maxScaleRetries bounds the rounds of a scale write whose read object
// changed before the write (without a client precondition).
const maxScaleRetries = 8

// writeScale reads the object, works out the new Scale (the body of a
// PUT, or the old Scale patched) and writes its replicas as a merge patch
// conditioned on the object read; another write in between starts over,
// unless the client's own resourceVersion precondition was the one that
// failed (then it is the storage's Conflict).
func (s *Server) writeScale(ctx context.Context, req *request, sc *api.ScaleSubresource, body []byte, pt api.PatchType) (*api.Object, error) {
	var lastErr error
	for range maxScaleRetries {
		cur, err := req.entry.storage.Get(ctx, req.namespace, req.name, api.GetOptions{})
		if err != nil {
			return nil, err
		}
		old, err := scaleObject(req.entry.res, cur)
		if err != nil {
			return nil, err
		}
		next, err := newScale(req, old, body, pt)
		if err != nil {
			return nil, err
		}
		if next.UID != "" && string(next.UID) != cur.UID {
			return nil, api.Errorf(api.ErrConflict, "Operation cannot be fulfilled on %s %q: Precondition failed: UID in precondition: %s, UID in object meta: %s",
				scaleResource(req.entry.res), req.name, next.UID, cur.UID)
		}
		rv := next.ResourceVersion
		client := rv != "" && rv != api.FormatRV(cur.RV)
		if rv == "" {
			rv = api.FormatRV(cur.RV)
		}
		obj, err := req.entry.storage.Patch(ctx, req.namespace, req.name, replicasPatch(sc, rv, next.Spec.Replicas))
		if err == nil || client || !isConflict(err) {
			return obj, err
		}
		lastErr = err
	}
	return nil, lastErr
}

// scaleResource is how kube-apiserver names the scale subresource in
// messages: "deployments/scale.apps".
func scaleResource(r *api.Resource) string {
	if r.Group == "" {
		return r.Resource + "/scale"
	}
	return fmt.Sprintf("%s/scale.%s", r.Resource, r.Group)
}
