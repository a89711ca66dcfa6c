package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
)

// Writes pass through to the storage (B50-B53), which alone checks the
// object (that the body is a JSON object whose kind, apiVersion, namespace
// and name agree with the request, preconditions, defaulting, conflicts),
// so HTTP and gRPC answer a bad body alike. The HTTP frontend checks only
// what belongs to HTTP: the body's size and its media type (a protobuf
// body is translated to JSON first, http_protobody.go).

const mediaJSON = "application/json"

// serveWrite reads the body of a create or update (JSON or protobuf) or
// of a patch (any media type: the Content-Type is the patch type, which
// the storage accepts or answers 415 for, B75, B76, B210), reads the
// write's options (write_options.go), runs the write under the request
// timeout and answers the written object (for a dry run, the object as it
// would be written, B211) with the write's warnings: 201 for a create or
// an apply that created its object, else 200.
func (s *Server) serveWrite(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	var body []byte
	var ok bool
	var pt api.PatchType
	if req.verb == verbPatch {
		pt = patchType(r)
		body, ok = s.readBody(w, r)
	} else {
		body, ok = s.readObject(w, r, mediaJSON)
	}
	if !ok {
		return
	}
	opts, err := writeOptions(r.URL.Query(), req.verb, pt, r.UserAgent())
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	ctx, rep := withReport(r.Context(), opts)
	obj, err := req.write(ctx, body, pt, q.timeoutSeconds)
	writeWarnings(w, rep)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	code := http.StatusOK
	if req.verb == verbCreate || rep.Created() {
		code = http.StatusCreated
	}
	s.writeObject(w, r, req, code, obj)
}

// readObject reads the body of a create or update in JSON or protobuf
// (translated to JSON). It writes the
// error response itself and reports whether to go on.
func (s *Server) readObject(w http.ResponseWriter, r *http.Request, media string) ([]byte, bool) {
	proto := media == mediaJSON && isProtobufBody(r)
	if !proto && !mediaTypeIs(r, media) {
		writeStatus(w, newStatus(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s", media)))
		return nil, false
	}
	body, ok := s.readBody(w, r)
	if !ok || !proto {
		return body, ok
	}
	body, st := protobufToJSON(body)
	if st != nil {
		writeStatus(w, st)
		return nil, false
	}
	return body, true
}

// readBody reads the request body up to MaxBodyBytes; beyond that it
// answers 413. The body must arrive within BodyReadTimeout (a client that
// trickles it gets 400 and its connection closed: the passed deadline
// stays, so net/http does not wait for the rest of the body); the read
// deadline is lifted after a body read whole, so that a long write is not
// cut by it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeStatus(w, newStatus(http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge,
			tooLargeMessage(s.cfg.MaxBodyBytes)))
		return nil, false
	case err != nil:
		w.Header().Set("Connection", "close") // the rest of the body is not read
		writeError(w, s.log, api.Errorf(api.ErrBadRequest, "reading the request body: %v", err), nil)
		return nil, false
	}
	return body, true
}

// mediaTypeIs reports whether the request's Content-Type is media. An
// absent Content-Type counts as JSON.
func mediaTypeIs(r *http.Request, media string) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return media == mediaJSON
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == media
}

// patchType is the patch type a PATCH names: its Content-Type without
// parameters, as kube-apiserver reads it (an absent one names none).
func patchType(r *http.Request) api.PatchType {
	ct := r.Header.Get("Content-Type")
	if i := strings.Index(ct, ";"); i > 0 {
		ct = ct[:i]
	}
	return api.PatchType(ct)
}
