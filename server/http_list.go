package server

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/watchcached/watchcached/api"
)

// writeList writes list as the resource's <Kind>List with 200, in
// protobuf when negotiated (writeProtoList). A JSON list
// whose body stays under gzipMinBytes is built whole and sent with its
// Content-Length (writeBody); a larger one is streamed (chunked, gzip
// when the client accepts it): written from list.All() object by object
// through one bounded buffer (streamWriter) under write deadlines ending
// at deadline, so that a list costs the server the same few KB whatever
// its size, and a client that stops reading pins its list only until the
// deadline or the slow-client timeout.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, req *request, list *api.List, deadline time.Time) {
	if req.wire == wireProtobuf {
		s.writeProtoList(w, r, req, list, deadline)
		return
	}
	buf := getBuf()
	if appendList(buf, req.entry, list, gzipMinBytes) {
		writeBody(w, r, http.StatusOK, buf.Bytes())
		putBuf(buf)
		return
	}
	putBuf(buf)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	gz := acceptsGzip(r)
	if gz {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	w.WriteHeader(http.StatusOK)
	sw := newStreamWriter(w, deadline, s.cfg.SlowClientTimeout)
	if !gz {
		writeJSONList(sw, req.entry, list)
		_ = sw.close()
		return
	}
	s.writeGzip(sw, r, req, list, "json", func(out io.Writer) { writeJSONList(out, req.entry, list) })
	_ = sw.close()
}

// writeGzip writes the list that write writes, gzip-compressed, to sw: the
// compression shared with identical lists (gzipShares) for a list from a
// snapshot, else its own. Objects reach the compressor in streamBufBytes
// blocks, not one by one: klauspost's gzip costs ~10% more CPU fed 1 KB
// writes.
func (s *Server) writeGzip(sw *streamWriter, r *http.Request, req *request, list *api.List, wire string, write func(io.Writer)) {
	if list.Seq != nil && list.Continue == "" {
		q := r.URL.Query()
		k := gzipKey{entry: req.entry, rv: list.RV, namespace: req.namespace, labels: q.Get("labelSelector"),
			fields: q.Get("fieldSelector"), wire: wire}
		if sl := s.gzShares.acquire(k, write); sl != nil {
			_ = sl.copyTo(sw)
			s.gzShares.release(k, sl)
			return
		}
	}
	zw := getGzip(sw)
	in := newStreamWriter(writerOnly{zw}, time.Time{}, 0)
	write(in)
	if in.close() == nil && sw.err == nil {
		_ = zw.Close()
	}
	putGzip(zw)
}

// writerOnly is an http.ResponseWriter over a plain writer, for a
// streamWriter that feeds a compressor: it has no deadlines to set (they
// are the outer streamWriter's) and nothing to flush.
type writerOnly struct{ io.Writer }

func (writerOnly) Header() http.Header { return nil }
func (writerOnly) WriteHeader(int)     {}

// writeJSONList writes
//
//	{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"N"[,"continue":"..."][,"remainingItemCount":N]},"items":[...]}
//
// to out, stopping at out's first error. items is [] when the list is
// empty (B20).
func writeJSONList(out io.Writer, e *resourceEntry, list *api.List) {
	var head [256]byte
	if _, err := out.Write(appendListHead(head[:0], e, list)); err != nil {
		return
	}
	first := true
	for o := range list.All() {
		if !first {
			if _, err := out.Write(comma); err != nil {
				return
			}
		}
		first = false
		if _, err := out.Write(o.Raw); err != nil {
			return
		}
	}
	_, _ = out.Write(listTail)
}

var (
	comma    = []byte{','}
	listTail = []byte("]}\n")
)

// appendListHead appends the list's JSON up to the opening of items.
func appendListHead(b []byte, e *resourceEntry, list *api.List) []byte {
	b = append(b, e.listHead...)
	b = strconv.AppendUint(b, list.RV, 10)
	b = append(b, '"')
	if list.Continue != "" {
		b = append(b, `,"continue":`...)
		b = append(b, quote(list.Continue)...)
	}
	if list.RemainingItemCount != nil {
		b = append(b, `,"remainingItemCount":`...)
		b = strconv.AppendInt(b, *list.RemainingItemCount, 10)
	}
	return append(b, `},"items":[`...)
}

// appendList writes the whole list's JSON (writeJSONList) into buf unless
// it grows to max bytes or more (max <= 0: no bound); complete reports
// that it is all there.
func appendList(buf *bytes.Buffer, e *resourceEntry, list *api.List, max int) (complete bool) {
	buf.Write(appendListHead(buf.AvailableBuffer(), e, list))
	first := true
	for o := range list.All() {
		if max > 0 && buf.Len() >= max {
			return false
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.Write(o.Raw)
	}
	buf.Write(listTail)
	return true
}
