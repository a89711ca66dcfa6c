package server

import (
	"net/http"

	"github.com/watchcached/watchcached/api"
)

// deletecollection (B102): DELETE on a collection path deletes every
// object its labelSelector and fieldSelector select, one by one, and
// answers 200 with the <Kind>List of the objects as they were listed, as
// kube-apiserver does. The DeleteOptions are read as for a DELETE (body or
// query); a dry run (B211) deletes nothing and answers the same list, the
// preconditions apply to every object, and the other options are accepted
// and ignored.

func (s *Server) serveDeleteCollection(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	cd, ok := req.entry.storage.(api.CollectionDeleter)
	if !ok {
		writeMethodNotAllowed(w)
		return
	}
	opts, ok := s.readDeleteOptions(w, r, req)
	if !ok {
		return
	}
	pred, err := q.selection(req)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	var pre api.Preconditions
	if p := opts.Preconditions; p != nil {
		pre.UID, pre.ResourceVersion = p.UID, p.ResourceVersion
	}
	ctx, cancel := requestContext(opts.context(r.Context()), q.timeoutSeconds)
	defer cancel()
	list, err := cd.DeleteCollection(ctx, api.ListOptions{Namespace: req.namespace, Predicate: pred}, pre)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	deadline, _ := ctx.Deadline()
	s.writeList(w, r, req, list, deadline)
}
