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
		rec := &accessRecorder{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), accessEntryKey{}, entry)
		defer func() {
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			s.log.LogAttrs(ctx, slog.LevelDebug, "http request",
				slog.String("verb", attrs.Verb), slog.String("path", r.URL.Path),
				slog.String("user", entry.user), slog.Int("code", code),
				slog.Duration("duration", time.Since(begin)), slog.Int64("bytes", rec.bytes))
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// accessEntry is what inner handlers tell the access log about their
// request: the user, once authenticated. Written and read on the request's
// goroutine only.
type accessEntry struct{ user string }

type accessEntryKey struct{}

// noteUser records u as the user of the request ctx belongs to, when its
// access is being logged.
func noteUser(ctx context.Context, u User) {
	if e, ok := ctx.Value(accessEntryKey{}).(*accessEntry); ok {
		e.user = u.Name
	}
}

// accessRecorder counts the status code and body bytes of a response. It
// keeps the writer's Flush direct (a watch flushes once per burst) and
// unwraps for http.ResponseController (write deadlines). Used by the
// request's goroutine only.
type accessRecorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (a *accessRecorder) WriteHeader(code int) {
	if a.code == 0 {
		a.code = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *accessRecorder) Write(b []byte) (int, error) {
	if a.code == 0 {
		a.code = http.StatusOK
	}
	n, err := a.ResponseWriter.Write(b)
	a.bytes += int64(n)
	return n, err
}

func (a *accessRecorder) Flush() {
	if a.code == 0 {
		a.code = http.StatusOK
	}
	if f, ok := a.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(a.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (a *accessRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }
