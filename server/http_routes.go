package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/watchcached/watchcached/api"
)

// routes builds the top-level handler. API paths are routed by hand rather
// than by http.ServeMux: the mux would clean paths (turning a name ".." into
// a redirect) and decode "%2F" before we could reject such names with 400.
func (s *Server) routes() http.Handler {
	metricsHandler := promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.recoverPanic(w, r)
		p := r.URL.EscapedPath()
		switch {
		case isHealthPath(p):
			s.serveHealth(w, r, p)
		case p == "/metrics":
			metricsHandler.ServeHTTP(w, r)
		case isProfilingPath(p):
			s.serveProfiling(w, r, p)
		case p == "/version":
			s.serveDiscovery(w, r, s.versionInfo)
		case p == "/openapi/v2" || p == "/openapi/v3" || strings.HasPrefix(p, "/openapi/v3/"):
			s.serveOpenAPI(w, r, p)
		case p == "/api" || p == "/api/":
			s.serveDiscovery(w, r, s.coreVersions)
		case p == "/apis" || p == "/apis/":
			s.serveDiscovery(w, r, s.groupList)
		case strings.HasPrefix(p, "/api/"):
			s.serveAPIPath(w, r, "", p[len("/api/"):])
		case strings.HasPrefix(p, "/apis/"):
			s.serveGroupPath(w, r, p[len("/apis/"):])
		default:
			writeNotFound(w)
		}
	})
}

// serveGroupPath serves /apis/<group>[/<version>[/...]].
func (s *Server) serveGroupPath(w http.ResponseWriter, r *http.Request, rest string) {
	group, rest, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	g := s.table().group(group)
	if g == nil {
		writeNotFound(w)
		return
	}
	if rest == "" {
		s.serveDiscovery(w, r, func(*http.Request) any { return apiGroup(g) })
		return
	}
	s.serveAPIPath(w, r, group, rest)
}

// serveAPIPath serves <version>[/...] of group ("" for the core group).
func (s *Server) serveAPIPath(w http.ResponseWriter, r *http.Request, group, rest string) {
	version, rest, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	gv := groupVersion(group, version)
	if len(s.table().byGV[gv]) == 0 {
		writeNotFound(w)
		return
	}
	if rest == "" {
		s.serveDiscovery(w, r, func(*http.Request) any { return s.resourceList(gv) })
		return
	}
	req, err := s.parseResourcePath(r, gv, rest)
	if err != nil {
		writeError(w, s.log, err, nil)
		return
	}
	if req == nil {
		writeNotFound(w)
		return
	}
	if req.verb == "" {
		writeMethodNotAllowed(w)
		return
	}
	s.serveResource(w, r, req)
}

// parseResourcePath parses the part of a path after the groupVersion:
//
//	<resource>                          cluster-wide collection
//	<resource>/<name>                   cluster-scoped object
//	namespaces/<ns>/<resource>          namespaced collection
//	namespaces/<ns>/<resource>/<name>   namespaced object
//	[namespaces/<ns>/]<resource>/<name>/<subresource>   status or scale (B220-B223)
//
// It returns nil for a path that names nothing we serve (404), a request
// with an empty verb for a method the path does not allow (405), and an
// error wrapping api.ErrBadRequest for a malformed name or parameter.
func (s *Server) parseResourcePath(r *http.Request, gv, rest string) (*request, error) {
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		u, err := url.PathUnescape(seg)
		if err != nil {
			return nil, api.BadParam("path", "invalid path segment %q", seg)
		}
		segs[i] = u
	}
	namespace, namespaced := "", false
	if segs[0] == "namespaces" && len(segs) >= 3 && !s.isNamespaceSubresource(gv, segs) {
		namespace, namespaced = segs[1], true
		segs = segs[2:]
	}
	sub := ""
	if len(segs) == 3 {
		sub, segs = segs[2], segs[:2]
	}
	if len(segs) > 3 {
		return nil, nil
	}
	e := s.table().lookup(gv, segs[0])
	object := len(segs) == 2
	if e == nil || namespaced != e.res.Namespaced && (namespaced || object) || sub != "" && !hasSubresource(e.res, sub) {
		return nil, nil
	}
	name := ""
	if object {
		name = segs[1]
	}
	req, err := newRequest(e, "", namespace, name, namespaced, object)
	if err != nil {
		return nil, err
	}
	req.subresource = sub
	if sub != "" {
		req.verb = subresourceVerb(r)
		return req, nil
	}
	if req.verb, err = requestVerb(r, object, namespaced || !e.res.Namespaced); err != nil {
		return nil, err
	}
	return req, nil
}

// requestVerb names what a request does; "" when the method is not allowed
// on the path. canCreate (which also allows deletecollection) is false
// for the cluster-wide collection of a namespaced resource.
func requestVerb(r *http.Request, object, canCreate bool) (string, error) {
	switch r.Method {
	case http.MethodGet:
		watch, err := boolParam(r.URL.Query(), "watch")
		switch {
		case err != nil:
			return "", err
		case watch:
			return verbWatch, nil
		case object:
			return verbGet, nil
		}
		return verbList, nil
	case http.MethodPost:
		if !object && canCreate {
			return verbCreate, nil
		}
	case http.MethodPut:
		if object {
			return verbUpdate, nil
		}
	case http.MethodPatch:
		if object {
			return verbPatch, nil
		}
	case http.MethodDelete:
		switch {
		case object:
			return verbDelete, nil
		case canCreate:
			return verbDeleteCollection, nil
		}
	}
	return "", nil
}

// serveResource runs one resource request and records its metrics.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, req *request) {
	if req.verb == verbWatch {
		// An HTTP/1.1 watch may detach (http_hijack.go): this end-of-
		// request work then runs when its stream ends.
		var returned func()
		r, returned = withRequestEnd(r)
		defer returned()
	}
	rw := &statusRecorder{ResponseWriter: w}
	bypass, bypassErr := readBypass(r, req.verb)
	req.bypass = bypass
	m := s.metrics.start(r, req)
	defer func() {
		if req.verb != verbWatch {
			m.done(rw.statusCode())
			return
		}
		record := m.doneLater(rw.statusCode())
		atEnd(r.Context(), func(int64) { record() })
	}()
	release, err := s.admission.admit(req.verb)
	if err != nil {
		m.dropped = true
		writeError(rw, s.log, err, nil)
		return
	}
	if req.verb == verbWatch {
		defer atEnd(r.Context(), func(int64) { release() })
	} else {
		defer release()
	}
	if bypassErr != nil {
		writeError(rw, s.log, bypassErr, req)
		return
	}
	if req.bypass && s.cfg.ForwardUncachedReads {
		s.forwardRead(rw, r)
		return
	}
	if req.wire, req.statusWire, err = negotiate(r, req.entry.protobuf); err != nil {
		writeError(rw, s.log, err, req)
		return
	}
	q, err := httpQuery(r.URL.Query(), req.verb)
	if err != nil {
		writeError(rw, s.log, err, req)
		return
	}
	q.limits = s.selectors
	if req.subresource != "" {
		s.serveSubresource(rw, r, req, q)
		return
	}
	switch req.verb {
	case verbList:
		s.serveList(rw, r, req, q)
	case verbGet:
		s.serveGet(rw, r, req, q)
	case verbWatch:
		unwatch := s.metrics.kube.watching(r, req)
		defer atEnd(r.Context(), func(int64) { unwatch() })
		s.serveWatch(rw, r, req, q)
	case verbCreate, verbUpdate, verbPatch:
		s.serveWrite(rw, r, req, q)
	case verbDelete:
		s.serveDelete(rw, r, req, q)
	case verbDeleteCollection:
		s.serveDeleteCollection(rw, r, req, q)
	}
}
