package server

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Identical gzip lists share one compression. Compressing is most of the
// CPU of a large gzip list (~60 ms per 10 MB here, against ~1 ms to walk
// and write it), and the lists most often asked for in numbers are
// identical: an informer relist storm, every client of a resource listing
// the same snapshot. A list from a cache snapshot (api.List.Seq) is
// identified by its resource, its RV (one RV, one state), its namespace,
// selectors and format; the first such list starts one compression of it
// into memory, and that list and every identical one asked for while the
// compression runs, while any of them is still being written, or up to
// shareLinger after the last one, stream the same compressed chunks to
// their own clients, each at its own pace under its own deadlines. A
// client that stops reading holds back no other: the compression never
// waits for a client.

// shareLinger is how long a finished compressed list stays shared after
// its last reader; maxSharedBytes bounds the compressed bytes kept for all
// shared lists together (beyond it a list compresses on its own).
const (
	shareLinger    = 2 * time.Second
	maxSharedBytes = 64 << 20
)

// gzipKey identifies the bytes of a list.
type gzipKey struct {
	entry                *resourceEntry
	rv                   uint64
	namespace            string
	labels, fields, wire string
}

// gzipShares is the server's shared compressed lists. Safe for concurrent
// use.
type gzipShares struct {
	mu     sync.Mutex
	lists  map[gzipKey]*sharedGzip // guarded by mu
	bytes  int64                   // compressed bytes of lists (guarded by mu)
	starts atomic.Int64            // compressions started, for tests
}

// sharedGzip is one compressed list: chunks appended by its compressor,
// read by any number of readers.
type sharedGzip struct {
	mu     sync.Mutex
	cond   sync.Cond // on mu: a chunk was added, or the end
	chunks [][]byte  // guarded by mu; never modified once added
	done   bool      // guarded by mu
	// Guarded by gzipShares.mu:
	refs    int         // readers
	size    int64       // compressed bytes, once done
	counted bool        // size is in gzipShares.bytes
	gone    bool        // no longer in gzipShares.lists
	linger  *time.Timer // pending removal; nil while read
}

// acquire returns the shared list of k, starting its compression with
// write (which writes the whole plain body) when there is none; nil when
// the shared lists are over their byte bound.
func (g *gzipShares) acquire(k gzipKey, write func(io.Writer)) *sharedGzip {
	g.mu.Lock()
	defer g.mu.Unlock()
	if sl := g.lists[k]; sl != nil {
		sl.refs++
		if sl.linger != nil {
			sl.linger.Stop()
			sl.linger = nil
		}
		return sl
	}
	if g.bytes >= maxSharedBytes {
		return nil
	}
	if g.lists == nil {
		g.lists = map[gzipKey]*sharedGzip{}
	}
	sl := &sharedGzip{refs: 1}
	sl.cond.L = &sl.mu
	g.lists[k] = sl
	g.starts.Add(1)
	go g.compress(sl, write)
	return sl
}

// release drops a reader of k's list; the last one leaves it shared for
// shareLinger, then it goes.
func (g *gzipShares) release(k gzipKey, sl *sharedGzip) {
	g.mu.Lock()
	defer g.mu.Unlock()
	sl.refs--
	if sl.refs > 0 || g.lists[k] != sl {
		return
	}
	sl.linger = time.AfterFunc(shareLinger, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if sl.refs == 0 && g.lists[k] == sl {
			delete(g.lists, k)
			sl.gone = true
			if sl.counted {
				g.bytes -= sl.size
			}
		}
	})
}

// compress writes the list through gzip into sl's chunks, fed in
// streamBufBytes blocks as a streamed list is.
func (g *gzipShares) compress(sl *sharedGzip, write func(io.Writer)) {
	out := &chunkSink{sl: sl}
	zw := getGzip(out)
	in := newStreamWriter(writerOnly{zw}, time.Time{}, 0)
	write(in)
	_ = in.close()
	_ = zw.Close()
	putGzip(zw)
	out.flush()
	g.mu.Lock()
	sl.size, sl.counted = out.n, !sl.gone
	if sl.counted {
		g.bytes += out.n
	}
	g.mu.Unlock()
	sl.mu.Lock()
	sl.done = true
	sl.cond.Broadcast()
	sl.mu.Unlock()
}

// chunkSink gathers what the compressor writes into chunks of
// streamBufBytes and appends each to the shared ones. Used by the
// compressor only.
type chunkSink struct {
	sl  *sharedGzip
	buf []byte
	n   int64
}

func (c *chunkSink) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	c.buf = append(c.buf, p...)
	if len(c.buf) >= streamBufBytes {
		c.flush()
	}
	return len(p), nil
}

// flush appends the gathered bytes as one chunk.
func (c *chunkSink) flush() {
	if len(c.buf) == 0 {
		return
	}
	c.sl.mu.Lock()
	c.sl.chunks = append(c.sl.chunks, c.buf)
	c.sl.cond.Broadcast()
	c.sl.mu.Unlock()
	c.buf = make([]byte, 0, streamBufBytes+streamBufBytes/2)
}

// copyTo writes every chunk to w as it comes, until the end or w's first
// error.
func (sl *sharedGzip) copyTo(w io.Writer) error {
	for i := 0; ; i++ {
		sl.mu.Lock()
		for i == len(sl.chunks) && !sl.done {
			sl.cond.Wait()
		}
		if i == len(sl.chunks) {
			sl.mu.Unlock()
			return nil
		}
		chunk := sl.chunks[i]
		sl.mu.Unlock()
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
}

// forget drops every shared list at once (benchmarks and tests: the next
// list compresses anew). Readers in progress keep theirs.
func (g *gzipShares) forget() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, sl := range g.lists {
		delete(g.lists, k)
		sl.gone = true
		if sl.counted {
			g.bytes -= sl.size
		}
		if sl.linger != nil {
			sl.linger.Stop()
		}
	}
}
