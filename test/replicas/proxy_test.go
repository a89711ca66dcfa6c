package replicas

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// watchPath is the gRPC method of an etcd watch stream.
const watchPath = "/etcdserverpb.Watch/Watch"

// stallProxy is a loopback TCP proxy in front of one etcd member's client
// URL, written for these tests. It reads the HTTP/2 headers its clients
// send, so it knows which connections carry an etcd watch stream; while
// stalled it holds the bytes of those connections only (both ways), so a
// replica's watch (and whatever shares its gRPC connection) stops while
// its health client, on a connection of its own, still reaches etcd.
//
// Safe for concurrent use; close ends every goroutine it started.
type stallProxy struct {
	ln     net.Listener
	target string // host:port of the member

	mu      sync.Mutex
	stalled bool              // guarded by mu
	wake    chan struct{}     // guarded by mu; closed and replaced on every change
	conns   map[net.Conn]bool // guarded by mu; both sides of every open pair; nil once closed
	wg      sync.WaitGroup    // accept loop, copiers and sniffers
}

// link is one proxied connection pair.
type link struct {
	watch atomic.Bool // a watch stream was opened on it
}

func newStallProxy(target string) (*stallProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &stallProxy{ln: ln, target: target, wake: make(chan struct{}), conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// URL is the client URL to dial instead of the member's.
func (p *stallProxy) URL() string { return "http://" + p.ln.Addr().String() }

// setStalled holds (true) or releases (false) the watch connections.
func (p *stallProxy) setStalled(s bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = s
	close(p.wake)
	p.wake = make(chan struct{})
}

func (p *stallProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		l := &link{}
		pr, pw := io.Pipe()
		p.wg.Add(3)
		go p.sniff(pr, l)
		go p.pipe(c, up, l, pw)
		go p.pipe(up, c, l, nil)
	}
}

func (p *stallProxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		_, _ = a.Close(), b.Close()
		return false
	}
	p.conns[a], p.conns[b] = true, true
	return true
}

// pipe copies src to dst chunk by chunk until either side fails, then
// closes both; tee, when set, gets every chunk first (the client's side,
// for sniff).
func (p *stallProxy) pipe(src, dst net.Conn, l *link, tee *io.PipeWriter) {
	defer p.wg.Done()
	defer p.drop(src, dst)
	if tee != nil {
		defer tee.Close()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && tee != nil {
			_, _ = tee.Write(buf[:n]) // the sniffer drains until the pipe closes
		}
		if n > 0 && !p.forward(dst, buf[:n], l) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forward hands one chunk on, first waiting while the proxy is stalled
// and the pair carries a watch; false when the connection must end.
func (p *stallProxy) forward(dst net.Conn, b []byte, l *link) bool {
	for {
		p.mu.Lock()
		stalled, wake, open := p.stalled, p.wake, p.conns != nil
		p.mu.Unlock()
		if !open {
			return false
		}
		if stalled && l.watch.Load() {
			<-wake
			continue
		}
		_, err := dst.Write(b)
		return err == nil
	}
}

// sniff reads the client's HTTP/2 stream (the connection preface, then
// frames, decoding header blocks) and marks the link when a request for
// watchPath goes by; what it cannot parse it just drains.
func (p *stallProxy) sniff(r *io.PipeReader, l *link) {
	defer p.wg.Done()
	defer func() { _, _ = io.Copy(io.Discard, r) }()
	if _, err := io.ReadFull(r, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(nil, r)
	fr.SetMaxReadFrameSize(1 << 24)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if h, ok := f.(*http2.MetaHeadersFrame); ok && h.PseudoValue("path") == watchPath {
			l.watch.Store(true)
		}
	}
}

func (p *stallProxy) drop(a, b net.Conn) {
	_, _ = a.Close(), b.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns != nil {
		delete(p.conns, a)
		delete(p.conns, b)
	}
}

// close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *stallProxy) close() error {
	err := p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
