package server

import (
	"io"
	"net/http"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/server/table"
)

// writeTableList answers a list as a Table (B224) the way writeList
// answers it as a list: a Table under gzipMinBytes is sent whole (and,
// like any body, compressed when large enough), a larger one is streamed
// row by row through the bounded stream buffer under the write
// deadlines, gzip-compressed when the client accepts it, so that a Table
// of any size costs the server a constant amount of memory (B189).
func (s *Server) writeTableList(w http.ResponseWriter, r *http.Request, req *request, opts *table.Options, list *api.List, deadline time.Time) {
	lm := table.ListMeta{ResourceVersion: api.FormatRV(list.RV), Continue: list.Continue, RemainingItemCount: list.RemainingItemCount}
	ct := tableContentType(opts)
	sp := &spillWriter{max: gzipMinBytes, start: func() (io.Writer, func()) {
		h := w.Header()
		h.Set("Content-Type", ct)
		gz := acceptsGzip(r)
		if gz {
			h.Set("Content-Encoding", "gzip")
			h.Add("Vary", "Accept-Encoding")
		}
		w.WriteHeader(http.StatusOK)
		sw := newStreamWriter(w, deadline, s.cfg.SlowClientTimeout)
		if !gz {
			return sw, func() { _ = sw.close() }
		}
		zw := getGzip(sw)
		return zw, func() {
			if sw.err == nil {
				_ = zw.Close()
			}
			putGzip(zw)
			_ = sw.close()
		}
	}}
	_ = req.entry.printer.WriteTable(sp, *opts, list.All(), lm, time.Now())
	if sp.out == nil {
		writeBodyAs(w, r, http.StatusOK, ct, sp.buf)
		return
	}
	sp.end()
}

// spillWriter holds what is written until it reaches max bytes; then it
// starts the real output (start) and writes everything through it. A body
// that stays under max is left in buf for the caller to send whole.
type spillWriter struct {
	max   int
	buf   []byte
	start func() (io.Writer, func())
	out   io.Writer // nil until spilled
	end   func()
}

func (s *spillWriter) Write(p []byte) (int, error) {
	if s.out != nil {
		return s.out.Write(p)
	}
	s.buf = append(s.buf, p...)
	if len(s.buf) < s.max {
		return len(p), nil
	}
	s.out, s.end = s.start()
	if _, err := s.out.Write(s.buf); err != nil {
		return 0, err
	}
	s.buf = nil
	return len(p), nil
}
