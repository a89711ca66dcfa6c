package server

import (
	"net/http"
	"net/http/pprof"
)

// profilingPrefix is where Go's profiles are served with Config.Profiling,
// kube-apiserver's path. The paths are non-resource URLs, so the
// authorizer decides who may read them (get of /debug/pprof/*).
const profilingPrefix = "/debug/pprof"

// isProfilingPath reports whether p is under /debug/pprof.
func isProfilingPath(p string) bool {
	return p == profilingPrefix || len(p) > len(profilingPrefix) && p[:len(profilingPrefix)+1] == profilingPrefix+"/"
}

// serveProfiling serves p, a path under /debug/pprof, with net/http/pprof's
// handlers (registered here, never on http.DefaultServeMux); 404 as for
// any unknown path while profiling is off. As in kube-apiserver, the bare
// prefix redirects to the index and the command line is not served.
func (s *Server) serveProfiling(w http.ResponseWriter, r *http.Request, p string) {
	if !s.cfg.Profiling {
		writeNotFound(w)
		return
	}
	switch p {
	case profilingPrefix:
		http.Redirect(w, r, profilingPrefix+"/", http.StatusFound)
	case profilingPrefix + "/profile":
		pprof.Profile(w, r)
	case profilingPrefix + "/symbol":
		pprof.Symbol(w, r)
	case profilingPrefix + "/trace":
		pprof.Trace(w, r)
	default:
		pprof.Index(w, r) // the index, and each named runtime profile
	}
}
