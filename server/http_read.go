package server

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/server/table"
)

// serveList answers a list: <Kind>List whose items are the objects' Raw
// bytes, concatenated (never re-encoded).
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	topts, err := tableRequest(r)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	list, err := req.list(r.Context(), q)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	if topts != nil {
		writeTable(w, r, req.entry, topts, list.Items, table.ListMeta{ResourceVersion: api.FormatRV(list.RV),
			Continue: list.Continue, RemainingItemCount: list.RemainingItemCount})
		return
	}
	writeList(w, r, req, list)
}

// writeList writes list as the resource's <Kind>List with 200.
func writeList(w http.ResponseWriter, r *http.Request, req *request, list *api.List) {
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
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	topts, err := tableRequest(r)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	obj, err := req.get(r.Context(), q)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	if topts != nil {
		writeTable(w, r, req.entry, topts, []*api.Object{obj}, table.ListMeta{ResourceVersion: api.FormatRV(obj.RV)})
		return
	}
	writeBody(w, r, http.StatusOK, obj.Raw)
}
