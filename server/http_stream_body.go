package server

import (
	"errors"
	"net/http"
	"sync"
	"time"
)

// streamBufBytes is the one buffer a streamed body (a large list) is
// written through: what the server holds per in-flight list beyond the
// connection's own buffers, whatever the list's size.
const streamBufBytes = 32 << 10

var streamBufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, streamBufBytes)
	return &b
}}

// streamWriter writes a response body of any length through one bounded
// buffer: each time the buffer fills, it goes to the connection under a
// write deadline, sendLimit(now, deadline, slow), so that a client that
// stops reading is cut at the request's deadline or once one write has
// been blocked for the slow-client timeout, whichever is first; the
// response then fails and its connection is closed. After the first
// failure every Write returns it (a walk writing into it stops).
//
// Used by the request's goroutine only.
type streamWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	buf      *[]byte // pooled; nil once closed
	deadline time.Time
	slow     time.Duration
	limit    time.Time // the write deadline set last
	bySlow   bool      // limit is the slow-client one
	noLimit  bool      // the writer has no write deadline (ErrNotSupported)
	err      error
}

func newStreamWriter(w http.ResponseWriter, deadline time.Time, slow time.Duration) *streamWriter {
	return &streamWriter{w: w, rc: http.NewResponseController(w), buf: streamBufPool.Get().(*[]byte),
		deadline: deadline, slow: slow}
}

// Write buffers p, writing the buffer out each time it fills.
func (s *streamWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	for len(p) > 0 {
		b := *s.buf
		if len(b) == cap(b) {
			if err := s.drain(); err != nil {
				return n - len(p), err
			}
			b = *s.buf
		}
		c := copy(b[len(b):cap(b)], p)
		*s.buf = b[:len(b)+c]
		p = p[c:]
	}
	return n, nil
}

// drain writes the buffer to the connection under a fresh deadline.
func (s *streamWriter) drain() error {
	s.arm()
	_, err := s.w.Write(*s.buf)
	*s.buf = (*s.buf)[:0]
	if err != nil {
		s.err = blockedErr(err, s.limit, s.bySlow)
	}
	return s.err
}

func (s *streamWriter) arm() {
	s.limit, s.bySlow = sendLimit(time.Now(), s.deadline, s.slow)
	if !s.noLimit {
		s.noLimit = s.rc.SetWriteDeadline(s.limit) != nil
	}
}

// close writes and flushes what is buffered, releases the buffer and
// gives the end of the response (written by net/http after the handler
// returns) the slow-client timeout. It returns the body's first error.
func (s *streamWriter) close() error {
	if s.buf == nil {
		return s.err
	}
	if s.err == nil && len(*s.buf) > 0 {
		_ = s.drain()
	}
	if s.err == nil {
		s.arm()
		if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			s.err = blockedErr(err, s.limit, s.bySlow)
		}
	}
	if !s.noLimit {
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.slow))
	}
	*s.buf = (*s.buf)[:0]
	streamBufPool.Put(s.buf)
	s.buf = nil
	return s.err
}
