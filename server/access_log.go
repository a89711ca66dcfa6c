package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// withAccessLog logs one debug line per HTTP request once it has been
// answered (a watch when its stream ends): the verb as authorization sees
// it (list, watch, get, create, ...), the path without its query, the
// user, the status code, the duration and the bytes of the body written.
// No body, header or query reaches the line, so neither a bearer token
// nor a secret in a parameter can. Below debug level it costs one Enabled
// call. Safe for concurrent use.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		begin := time.Now()
		// Taken before the handlers run: authentication strips the
		// Authorization header from the shared header map.
		attrs := httpAttributes(r, User{})
		entry := &accessEntry{} // no user: the request was not authenticated
		rec := &statusRecorder{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), accessEntryKey{}, entry)
		r, returned := withRequestEnd(r.WithContext(ctx))
		ctx = r.Context()
		defer returned()
		defer func() {
			// A detached watch logs when its stream ends: take what the
			// line needs now, not the request or the writer.
			verb, path, code, bytes := attrs.Verb, r.URL.Path, rec.statusCode(), rec.bytes
			atEnd(ctx, func(more int64) {
				s.log.LogAttrs(ctx, slog.LevelDebug, "http request",
					slog.String("verb", verb), slog.String("path", path),
					slog.String("user", entry.user), slog.Int("code", code),
					slog.Duration("duration", time.Since(begin)), slog.Int64("bytes", bytes+more))
			})
		}()
		next.ServeHTTP(rec, r)
	})
}

// accessEntry is what inner handlers tell the access log about their
// request: the user, once authenticated. Written on the request's
// goroutine only, before a detached watch (request_end.go) could read it.
type accessEntry struct{ user string }

type accessEntryKey struct{}

// noteUser records u as the user of the request ctx belongs to, when its
// access is being logged.
func noteUser(ctx context.Context, u User) {
	if e, ok := ctx.Value(accessEntryKey{}).(*accessEntry); ok {
		e.user = u.Name
	}
}
