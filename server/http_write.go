package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
)

// Writes pass through to the storage (B50-B53). The server checks what it
// can see without the storage: the body's size, that it is a JSON object,
// its media type, and that its kind, apiVersion, namespace and name agree
// with the path. Everything else (preconditions, defaulting, conflicts) is
// the storage's.

const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

// errDryRun answers a write that asks for a dry run, wherever it does (B55):
// the storages have no dry-run mode, and carrying out a write the client
// asked only to try would be worse than refusing it. Create, update and
// patch carry dryRun in the query (kubectl --dry-run=server sends
// dryRun=All); a delete carries it in the DeleteOptions body (kubectl and
// client-go's typed Delete) or, without a body, in the query.
var errDryRun = api.BadParam("dryRun", "dryRun is not supported by this server: the request was not carried out")

// queryDryRun reports whether the query names dryRun at all: any value,
// even an empty one (which kube-apiserver refuses as unsupported), and in
// any position of a repeated parameter.
func queryDryRun(q url.Values) bool {
	_, ok := q["dryRun"]
	return ok
}

func isWrite(verb string) bool {
	return verb == verbCreate || verb == verbUpdate || verb == verbPatch || verb == verbDelete
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, req *request) {
	s.serveWrite(w, r, req, mediaJSON, http.StatusCreated, func(ctx context.Context, body []byte) (*api.Object, error) {
		return req.entry.storage.Create(ctx, req.namespace, body)
	})
}

func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, req *request) {
	s.serveWrite(w, r, req, mediaJSON, http.StatusOK, func(ctx context.Context, body []byte) (*api.Object, error) {
		return req.entry.storage.Update(ctx, req.namespace, req.name, body)
	})
}

func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, req *request) {
	s.serveWrite(w, r, req, mediaMergePatch, http.StatusOK, func(ctx context.Context, body []byte) (*api.Object, error) {
		return req.entry.storage.Patch(ctx, req.namespace, req.name, body)
	})
}

// serveWrite reads a body of the given media type, runs write under the
// request timeout and answers the written object with code.
func (s *Server) serveWrite(w http.ResponseWriter, r *http.Request, req *request, media string, code int,
	write func(context.Context, []byte) (*api.Object, error)) {
	body, ok := s.readObject(w, r, req, media)
	if !ok {
		return
	}
	ctx, cancel := requestContext(r, r.URL.Query())
	defer cancel()
	obj, err := write(ctx, body)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	writeBody(w, r, code, obj.Raw)
}

// objectHeader is what the server reads of a written object.
type objectHeader struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// readObject reads and checks the body of a create, update or patch. It
// writes the error response itself and reports whether to go on.
func (s *Server) readObject(w http.ResponseWriter, r *http.Request, req *request, media string) ([]byte, bool) {
	proto := media == mediaJSON && isProtobufBody(r)
	if !proto && !mediaTypeIs(r, media) {
		writeStatus(w, newStatus(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s", media)))
		return nil, false
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return nil, false
	}
	if proto {
		var st *metav1.Status
		if body, st = protobufToJSON(body); st != nil {
			writeStatus(w, st)
			return nil, false
		}
	}
	if err := checkObject(body, req); err != nil {
		writeError(w, s.log, err, req)
		return nil, false
	}
	return body, true
}

// checkObject checks that body is a JSON object whose kind, apiVersion,
// namespace and name (those that are set) agree with the request.
func checkObject(body []byte, req *request) error {
	var h objectHeader
	if err := json.Unmarshal(body, &h); err != nil {
		return api.Errorf(api.ErrBadRequest, "the body of the request is not a valid JSON object: %v", err)
	}
	res := req.entry.res
	if (h.Kind != "" && h.Kind != res.Kind) || (h.APIVersion != "" && h.APIVersion != res.GroupVersion()) {
		return api.Errorf(api.ErrBadRequest, "the object provided is unrecognized (must be of type %s): %s, Kind=%s",
			res.Kind, h.APIVersion, h.Kind)
	}
	if res.Namespaced && h.Metadata.Namespace != "" && h.Metadata.Namespace != req.namespace {
		return api.Errorf(api.ErrBadRequest, "the namespace of the provided object does not match the namespace sent on the request")
	}
	if h.Metadata.Name != "" {
		if err := api.ValidateName("metadata.name", h.Metadata.Name); err != nil {
			return err
		}
		if req.name != "" && h.Metadata.Name != req.name {
			return api.Errorf(api.ErrBadRequest, "the name of the object (%s) does not match the name on the URL (%s)",
				h.Metadata.Name, req.name)
		}
	}
	return nil
}

// readBody reads the request body up to MaxBodyBytes; beyond that it
// answers 413.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeStatus(w, newStatus(http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge,
			fmt.Sprintf("Request entity too large: limit is %d", s.cfg.MaxBodyBytes)))
		return nil, false
	case err != nil:
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
