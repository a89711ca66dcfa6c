package server

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Forwarded writes (--write-mode=forward): kube-apiserver stays the only
// writer, and its answer is the client's, status code, headers (Content-
// Type, Warning, ...) and body unchanged; the change reaches the cache
// through etcd's watch like any other.

// Kubernetes' impersonation headers.
const (
	impersonateUser   = "Impersonate-User"
	impersonateGroup  = "Impersonate-Group"
	impersonateUID    = "Impersonate-Uid"
	impersonateExtra  = "Impersonate-Extra-" // + the key, escaped by escapeHeaderKey
	impersonatePrefix = "Impersonate-"
)

// newForwarder builds the reverse proxy to cfg.Writes.ForwardURL. The
// request keeps its method, path, query and body. Impersonation headers
// the client sent are dropped (they would borrow the kubeconfig's
// rights); with authentication on, the authenticated caller is
// impersonated so that kube-apiserver authorizes the real caller. The
// caller's Authorization header is already gone (withAuthentication);
// ForwardTransport adds the kubeconfig's credentials. Safe for concurrent
// use.
func (s *Server) newForwarder(what string) http.Handler {
	target := s.cfg.Writes.ForwardURL
	impersonate := s.cfg.Authentication.Enabled()
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			for k := range pr.Out.Header {
				if strings.HasPrefix(http.CanonicalHeaderKey(k), impersonatePrefix) {
					delete(pr.Out.Header, k)
				}
			}
			if u, ok := UserFrom(pr.In.Context()); ok && impersonate {
				setImpersonation(pr.Out.Header, u)
			}
		},
		Transport: s.cfg.Writes.ForwardTransport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away, or the server is stopping a forwarded watch
			}
			s.log.Warn("forwarding a "+what+" to kube-apiserver failed", "method", r.Method, "path", r.URL.Path, "err", err)
			writeStatus(w, newStatus(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
				forwardFailedMessage(what)))
		},
	}
}

// setImpersonation names u in h. The system:authenticated and
// system:unauthenticated groups are left out: kube-apiserver adds them
// to an impersonated user itself, and naming them would need extra
// impersonation rights.
func setImpersonation(h http.Header, u User) {
	h.Set(impersonateUser, u.Name)
	for _, g := range u.Groups {
		if g != GroupAuthenticated && g != GroupUnauthenticated && !slices.Contains(h.Values(impersonateGroup), g) {
			h.Add(impersonateGroup, g)
		}
	}
	if u.UID != "" {
		h.Set(impersonateUID, u.UID)
	}
	for k, vs := range u.Extra {
		name := impersonateExtra + escapeHeaderKey(k)
		for _, v := range vs {
			h.Add(name, v)
		}
	}
}

// escapeHeaderKey %-encodes the bytes of an extra's key that may not be in
// a header name (and '%' itself), as client-go's impersonation does, so
// kube-apiserver unescapes it back.
func escapeHeaderKey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c != '%' && isTokenByte(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// isTokenByte reports whether c may be in an HTTP header name (RFC 7230).
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// forwardFailedMessage is the 503's message when the upstream could not
// be reached for a forwarded request.
func forwardFailedMessage(what string) string {
	if what == "read" {
		return "the read could not be forwarded to the upstream (?cache=false)"
	}
	return "the write could not be forwarded to kube-apiserver (--write-mode=forward)"
}
