package server

import (
	"bufio"
	"net"
	"strconv"
	"sync"
	"time"
)

// chunkedBody writes the rest of a response body in HTTP/1.1 chunked
// framing on a taken-over connection (http_hijack.go), buffered as
// net/http buffers it, so that the bytes on the wire are the ones net/http
// would have written: a 2 KiB buffer before chunking (each time it fills,
// or at a flush, its content becomes one chunk) over the connection's 4
// KiB buffer. Both come from pools on the first write after a flush and go
// back at the next flush, so a watch between bursts holds neither.
//
// Used by the stream's goroutine only. A write error sticks: every later
// write and flush fails with it and end writes nothing.
type chunkedBody struct {
	conn  net.Conn
	pre   *bufio.Writer // before chunking, onto (*chunkFrames)(b); nil between bursts
	out   *bufio.Writer // onto conn; nil between bursts
	bytes int64         // body bytes accepted, for the access log
	err   error
}

// net/http's sizes: the response's buffer before chunking and the
// connection's write buffer.
const (
	preChunkBytes = 2 << 10
	connBufBytes  = 4 << 10
)

var (
	preChunkPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, preChunkBytes) }}
	connBufPool  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, connBufBytes) }}
)

func (b *chunkedBody) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.pre == nil {
		b.take()
	}
	n, err := b.pre.Write(p)
	b.bytes += int64(n)
	if err != nil {
		b.err = err
	}
	return n, err
}

// Flush sends what is buffered as one chunk, then gives the buffers back.
func (b *chunkedBody) Flush() error {
	if b.err != nil {
		return b.err
	}
	if b.pre == nil {
		return nil
	}
	if err := b.flushBoth(); err != nil {
		return err
	}
	b.release()
	return nil
}

// SetWriteDeadline bounds the connection's writes.
func (b *chunkedBody) SetWriteDeadline(t time.Time) error { return b.conn.SetWriteDeadline(t) }

// end flushes what is buffered and writes the last, empty chunk (no
// trailers), unless a write failed.
func (b *chunkedBody) end() error {
	if b.err != nil {
		return b.err
	}
	if b.pre == nil {
		b.take()
	}
	if err := b.pre.Flush(); err != nil {
		b.err = err
		return err
	}
	_, _ = b.out.WriteString("0\r\n\r\n")
	if err := b.out.Flush(); err != nil {
		b.err = err
		return err
	}
	b.release()
	return nil
}

func (b *chunkedBody) flushBoth() error {
	err := b.pre.Flush()
	if err == nil {
		err = b.out.Flush()
	}
	if err != nil {
		b.err = err
	}
	return err
}

// take gets the buffers of a burst.
func (b *chunkedBody) take() {
	b.out = connBufPool.Get().(*bufio.Writer)
	b.out.Reset(b.conn)
	b.pre = preChunkPool.Get().(*bufio.Writer)
	b.pre.Reset((*chunkFrames)(b))
}

// release gives the (flushed) buffers back.
func (b *chunkedBody) release() {
	b.pre.Reset(nil)
	b.out.Reset(nil)
	preChunkPool.Put(b.pre)
	connBufPool.Put(b.out)
	b.pre, b.out = nil, nil
}

// chunkFrames is a chunkedBody's framing: what its buffer before chunking
// writes becomes one chunk, "<hex length>\r\n<data>\r\n", in the
// connection's buffer.
type chunkFrames chunkedBody

func (f *chunkFrames) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var head [20]byte
	h := append(strconv.AppendUint(head[:0], uint64(len(p)), 16), '\r', '\n')
	if _, err := f.out.Write(h); err != nil {
		return 0, err
	}
	n, err := f.out.Write(p)
	if err != nil {
		return n, err
	}
	_, err = f.out.WriteString("\r\n")
	return n, err
}
