package faults

import (
	"errors"
	"net"
	"sync"
	"time"
)

// proxyMode is what a proxy does with the bytes it carries.
type proxyMode int

const (
	modePass      proxyMode = iota
	modeStall               // hold bytes (stop reading) until the mode changes
	modeBlackhole           // read and drop bytes; connections are reset when it ends
	modeDelay               // forward each chunk after the proxy's delay
)

// proxy is a loopback TCP proxy in front of one etcd member's client URL,
// written for this suite: watchcached's etcd client dials the proxy, and
// the fault loop stalls, black-holes, delays or resets what passes. Safe
// for concurrent use; close ends every goroutine it started.
type proxy struct {
	ln     net.Listener
	target string // host:port of the member

	mu    sync.Mutex
	mode  proxyMode         // guarded by mu
	delay time.Duration     // guarded by mu; for modeDelay
	wake  chan struct{}     // guarded by mu; closed and replaced on every mode change
	conns map[net.Conn]bool // guarded by mu; both sides of every open pair
	wg    sync.WaitGroup    // accept loop and copiers
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, wake: make(chan struct{}), conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// URL is the client URL to dial instead of the member's.
func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			_ = c.Close() // the member is down: the client sees a refused-like close
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// track registers a connection pair; false once the proxy is closed.
func (p *proxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		_, _ = a.Close(), b.Close()
		return false
	}
	p.conns[a], p.conns[b] = true, true
	return true
}

// pipe copies from src to dst chunk by chunk, obeying the mode at each
// chunk, until either side fails; then it closes both.
func (p *proxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer p.drop(src, dst)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.forward(dst, buf[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forward hands one chunk on as the current mode says; false when the
// connection must end.
func (p *proxy) forward(dst net.Conn, b []byte) bool {
	for {
		p.mu.Lock()
		mode, delay, wake, open := p.mode, p.delay, p.wake, p.conns != nil
		p.mu.Unlock()
		if !open {
			return false
		}
		switch mode {
		case modeBlackhole:
			return true // dropped
		case modeStall:
			<-wake
			continue
		case modeDelay:
			select {
			case <-time.After(delay):
			case <-wake:
			}
		}
		_, err := dst.Write(b)
		return err == nil
	}
}

func (p *proxy) drop(a, b net.Conn) {
	_, _ = a.Close(), b.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns != nil {
		delete(p.conns, a)
		delete(p.conns, b)
	}
}

// set changes the mode; leaving modeBlackhole resets every connection,
// whose streams lost bytes.
func (p *proxy) set(mode proxyMode, delay time.Duration) {
	p.mu.Lock()
	was := p.mode
	p.mode, p.delay = mode, delay
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
	if was == modeBlackhole && mode != modeBlackhole {
		p.reset()
	}
}

// reset closes every open connection abruptly (RST, no FIN handshake).
func (p *proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

// close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *proxy) close() error {
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
