package server

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/watchcached/watchcached/api"
)

// serveList answers a list: <Kind>List whose items are the objects' Raw
// bytes, concatenated (never re-encoded).
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, req *request) {
	q := r.URL.Query()
	opts, err := listOptions(q, req)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	ctx, cancel := requestContext(r, q)
	defer cancel()
	list, err := req.entry.storage.List(ctx, opts)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	appendList(buf, req.entry, list)
	writeBody(w, r, http.StatusOK, buf.Bytes())
}

// appendList writes
//
//	{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"N"[,"continue":"..."][,"remainingItemCount":N]},"items":[...]}
//
// into buf. items is [] when the list is empty (B20).
func appendList(buf *bytes.Buffer, e *resourceEntry, list *api.List) {
	size := len(e.listHead) + 128 + len(list.Continue)
	for _, o := range list.Items {
		size += len(o.Raw) + 1
	}
	buf.Grow(size)
	buf.Write(e.listHead)
	buf.WriteString(strconv.FormatUint(list.RV, 10))
	buf.WriteByte('"')
	if list.Continue != "" {
		buf.WriteString(`,"continue":`)
		buf.WriteString(quote(list.Continue))
	}
	if list.RemainingItemCount != nil {
		buf.WriteString(`,"remainingItemCount":`)
		buf.WriteString(strconv.FormatInt(*list.RemainingItemCount, 10))
	}
	buf.WriteString(`},"items":[`)
	for i, o := range list.Items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(o.Raw)
	}
	buf.WriteString("]}\n")
}

// serveGet answers a get with the object's Raw bytes as they are.
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, req *request) {
	q := r.URL.Query()
	opts, err := getOptions(q)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	ctx, cancel := requestContext(r, q)
	defer cancel()
	obj, err := req.entry.storage.Get(ctx, req.namespace, req.name, opts)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	writeBody(w, r, http.StatusOK, obj.Raw)
}

// requestContext bounds a non-watch request (read or write) by its
// timeoutSeconds, or by DefaultRequestTimeout (kube-apiserver's
// --request-timeout), so a read that falls back to an unreachable etcd, or
// a write to it, ends with 504 instead of hanging (B63).
func requestContext(r *http.Request, q url.Values) (context.Context, context.CancelFunc) {
	if d, err := timeoutParam(q); err == nil && d > 0 {
		return context.WithTimeout(r.Context(), min(d, DefaultRequestTimeout))
	}
	return context.WithTimeout(r.Context(), DefaultRequestTimeout)
}

// DefaultRequestTimeout bounds every non-watch request.
const DefaultRequestTimeout = 60 * time.Second
