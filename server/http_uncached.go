package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/watchcached/watchcached/api"
)

// Reads that bypass the cache (?cache=false on a GET, LIST or WATCH):
// that one request is served straight from the cache's source, for a
// side-by-side comparison with the cache or to bypass it. With an etcd
// source it is the direct etcd store's answer; with an upstream API
// server (Config.ForwardUncachedReads) the request is proxied to the
// upstream and its answer is the client's, unchanged. Either way the
// request metrics count it with cache="false".

// cacheParam is the query parameter that bypasses the cache.
const cacheParam = "cache"

// readBypass reports whether a request of verb asks to bypass the cache.
// Only reads read the parameter; a value that is not a boolean is a 400
// naming it.
func readBypass(r *http.Request, verb string) (bool, error) {
	if verb != verbGet && verb != verbList && verb != verbWatch {
		return false, nil
	}
	use, err := optionalBoolParam(r.URL.Query(), cacheParam)
	if err != nil {
		return false, err
	}
	return use != nil && !*use, nil
}

// errBypassProxy is the error of a forwarded read that could not be
// built (never expected: the forwarder exists whenever reads are
// forwarded).
var errBypassProxy = errors.New("server: uncached reads are forwarded but no forwarder was built")

// forwardRead proxies a read that bypasses the cache to the upstream,
// without the cache parameter (the upstream's own cache, if any, serves
// it as any client's read). A forwarded watch ends when CloseWatches is
// called, like the server's own watches.
func (s *Server) forwardRead(w http.ResponseWriter, r *http.Request) {
	if s.readForwarder == nil {
		writeError(w, s.log, api.Errorf(api.ErrInternal, "%v", errBypassProxy), nil)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.stopCtx, cancel)
	defer stop()
	out := r.Clone(ctx)
	q := out.URL.Query()
	q.Del(cacheParam)
	out.URL.RawQuery = q.Encode()
	out.RequestURI = ""
	s.readForwarder.ServeHTTP(w, out)
}
