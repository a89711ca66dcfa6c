package server

import (
	"net/http"
	"strings"

	"github.com/watchcached/watchcached/api"
)

// serveReadyz answers 200 "ok" when every storage that can be not ready
// (api.Readiness, i.e. the caches) is ready, else 500 naming those that are
// not. /healthz and /livez only say that the process serves HTTP.
func (s *Server) serveReadyz(w http.ResponseWriter) {
	var notReady []string
	for _, st := range s.cfg.Storages {
		if rd, ok := st.(api.Readiness); ok && !rd.Ready() {
			notReady = append(notReady, st.Resource().GroupResource())
		}
	}
	if len(notReady) > 0 {
		writeText(w, http.StatusInternalServerError, "not ready: "+strings.Join(notReady, ", ")+"\n")
		return
	}
	writeText(w, http.StatusOK, "ok")
}
