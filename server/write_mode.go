package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/watchcached/watchcached/api"
)

// Write modes (--write-mode): what becomes of a write (POST, PUT, PATCH,
// DELETE under /api/ and /apis/). In front of a real cluster watchcached
// must never write to etcd behind kube-apiserver's back, so it either
// refuses writes or hands them to kube-apiserver (http_forward.go). The
// one decision is withWriteMode's for HTTP and grpcWriteRefusal's for
// gRPC.
const (
	// WriteModeEtcd carries writes out through the storages (the zero
	// value of WritePolicy.Mode means it too).
	WriteModeEtcd = "etcd"
	// WriteModeReject answers every write 405 MethodNotAllowed.
	WriteModeReject = "reject"
	// WriteModeForward proxies every HTTP write to kube-apiserver.
	WriteModeForward = "forward"
)

// WritePolicy says what becomes of writes. Read-only once given to New.
type WritePolicy struct {
	// Mode is WriteModeEtcd (or ""), WriteModeReject or WriteModeForward.
	Mode string
	// ForwardURL is kube-apiserver's base URL (forward mode only); a
	// request's path and query are appended to it.
	ForwardURL *url.URL
	// ForwardTransport carries forwarded writes with kube-apiserver's TLS
	// and the kubeconfig's credentials (forward mode only).
	ForwardTransport http.RoundTripper
}

// Validate checks the policy.
func (p *WritePolicy) Validate() error {
	switch p.Mode {
	case "", WriteModeEtcd, WriteModeReject:
		return nil
	case WriteModeForward:
		if p.ForwardURL == nil || p.ForwardURL.Host == "" || p.ForwardTransport == nil {
			return fmt.Errorf("server: write mode %q needs ForwardURL and ForwardTransport", p.Mode)
		}
		return nil
	}
	return fmt.Errorf("server: unknown write mode %q (want %s, %s or %s)", p.Mode, WriteModeEtcd, WriteModeReject, WriteModeForward)
}

// withWriteMode routes writes by the write mode before next sees them:
// in etcd mode it is next itself; in reject mode a write to a served
// resource answers 405; in forward mode every write under /api/ and
// /apis/ goes to kube-apiserver. Safe for concurrent use.
func (s *Server) withWriteMode(next http.Handler) http.Handler {
	switch s.cfg.Writes.Mode {
	case WriteModeReject:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t, ok := s.writeTarget(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			writeError(w, s.log, rejectedWrite(t, WriteModeReject), nil)
		})
	case WriteModeForward:
		fwd := s.newForwarder("write")
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.EscapedPath()
			if isWriteMethod(r.Method) && (strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/apis/")) {
				fwd.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	return next
}

// grpcWriteRefusal is the error a gRPC write of req answers in a mode
// other than etcd (gRPC writes are not forwarded), nil in etcd mode.
func (s *Server) grpcWriteRefusal(req *request) error {
	mode := s.cfg.Writes.Mode
	if mode == "" || mode == WriteModeEtcd {
		return nil
	}
	res := req.entry.res
	return rejectedWrite(writeTarget{group: res.Group, resource: res.Resource, action: strings.ToLower(req.verb)}, mode)
}

// writeTarget is the resource a write is about and what the write does,
// in kube-apiserver's words (create, update, patch, delete,
// deletecollection).
type writeTarget struct {
	group, resource, action string
}

// rejectedWrite is kube-apiserver's MethodNotSupported error (405, the
// resource in the details) with the write mode named.
func rejectedWrite(t writeTarget, mode string) error {
	gr := t.resource
	if t.group != "" {
		gr += "." + t.group
	}
	msg := fmt.Sprintf("%s is not supported on resources of kind %q: writes are not accepted by this server (--write-mode=%s); write through kube-apiserver",
		t.action, gr, mode)
	if mode == WriteModeForward {
		msg = fmt.Sprintf("%s is not supported on resources of kind %q over gRPC: gRPC writes are not forwarded (--write-mode=forward); write over HTTP or through kube-apiserver",
			t.action, gr)
	}
	return &api.Error{Err: api.ErrMethodNotAllowed, Message: msg, Group: t.group, Kind: t.resource}
}

// writeTarget finds the served resource a write request names:
// /api/<version>/... or /apis/<group>/<version>/..., then
// [namespaces/<ns>/]<resource>[/<name>[/<subresource>]]. ok is false for
// a read, and for a path that names no served resource (answered as
// without a write mode: 404).
func (s *Server) writeTarget(r *http.Request) (writeTarget, bool) {
	if !isWriteMethod(r.Method) {
		return writeTarget{}, false
	}
	p := r.URL.EscapedPath()
	var group, rest string
	switch {
	case strings.HasPrefix(p, "/api/"):
		rest = p[len("/api/"):]
	case strings.HasPrefix(p, "/apis/"):
		group, rest, _ = strings.Cut(p[len("/apis/"):], "/")
	default:
		return writeTarget{}, false
	}
	version, rest, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	segs := strings.Split(rest, "/")
	if segs[0] == "namespaces" && len(segs) >= 3 {
		segs = segs[2:]
	}
	if s.table().lookup(groupVersion(group, version), segs[0]) == nil {
		return writeTarget{}, false
	}
	return writeTarget{group: group, resource: segs[0], action: writeAction(r.Method, len(segs) > 1)}, true
}

// writeAction names what a write method does on an object path or a
// collection path, as kube-apiserver's verbs do.
func writeAction(method string, object bool) string {
	switch method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	}
	if object {
		return "delete"
	}
	return "deletecollection"
}

func isWriteMethod(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch || m == http.MethodDelete
}
