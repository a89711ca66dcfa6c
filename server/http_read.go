package server

import (
	"net/http"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/server/table"
	"time"
)

// serveList answers a list: <Kind>List whose items are the objects' Raw
// bytes, written one by one (never re-encoded, never collected into one
// body: writeList).
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	topts, err := tableRequest(r)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	deadline := time.Now().Add(requestTimeout(q.timeoutSeconds))
	list, err := req.list(r.Context(), q)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	if topts != nil {
		s.writeTableList(w, r, req, topts, list, deadline)
		return
	}
	s.writeList(w, r, req, list, deadline)
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
	s.writeObject(w, r, req, http.StatusOK, obj)
}
