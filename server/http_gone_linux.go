//go:build linux

package server

import (
	"crypto/tls"
	"net"
	"os"
	"sync"
	"syscall"
)

// goneWatcher notices, for every taken-over connection at once, a client
// that went away (B253): the connections' descriptors are registered, for
// hang-ups only, in one epoll instance of its own, and one goroutine,
// parked in the runtime's poller while nothing happens, ends the stream of
// each one that hung up. An idle watch then needs no reader goroutine (2
// KiB of stack and a goroutine each). Bytes a client sends are left
// unread: they do not wake it. Safe for concurrent use.
//
// The epoll instance and its goroutine exist while a connection is
// registered: the last removal closes the instance, which ends the
// goroutine.
type goneWatcher struct {
	mu   sync.Mutex
	ep   *os.File                  // the epoll instance; nil while none is registered; guarded by mu
	byID map[uint64]*hijackedWatch // registered watches by registration id; guarded by mu
	next uint64                    // the next registration id; guarded by mu
}

// goneEvents are the epoll events that mean the client went away: it
// closed its side (or shut down its writes), reset, or the socket failed.
const goneEvents = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR

// add registers h's connection; false when it cannot be (a connection
// whose descriptor a wrapper hides, or a failed registration): h then
// needs its own reader.
func (g *goneWatcher) add(h *hijackedWatch) bool {
	rc := rawConn(h.conn)
	if rc == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ep == nil && !g.open() {
		return false
	}
	id := g.next
	g.next++
	ev := syscall.EpollEvent{Events: goneEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	var err error
	epfd := int(g.ep.Fd())
	if cerr := rc.Control(func(fd uintptr) { err = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev) }); cerr != nil || err != nil {
		g.closeIfEmpty()
		return false
	}
	g.byID[id] = h
	h.goneID, h.goneRC = id, rc
	return true
}

// remove takes h's connection off the instance, before the connection is
// closed (an event for it after that would name another connection), and
// drops the bytes the client sent and nobody read: closing a socket with
// unread bytes resets the connection, which could cost the client the
// end of the body.
func (g *goneWatcher) remove(h *hijackedWatch) {
	g.mu.Lock()
	g.removeLocked(h)
	g.mu.Unlock()
	if h.goneRC != nil {
		_ = h.goneRC.Read(func(fd uintptr) bool {
			var buf [512]byte
			for {
				if n, err := syscall.Read(int(fd), buf[:]); n <= 0 || err != nil {
					return true
				}
			}
		})
	}
}

func (g *goneWatcher) removeLocked(h *hijackedWatch) {
	if g.byID[h.goneID] != h {
		return
	}
	delete(g.byID, h.goneID)
	epfd := int(g.ep.Fd())
	// Control fails on a closed connection, whose descriptor left the
	// instance when it was closed (and may be another's now).
	_ = h.goneRC.Control(func(fd uintptr) { _ = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, int(fd), nil) })
	g.closeIfEmpty()
}

// open makes the epoll instance and starts its goroutine. Called with mu
// held.
func (g *goneWatcher) open() bool {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return false
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return false
	}
	ep := os.NewFile(uintptr(fd), "epoll") // non-blocking: parked in the runtime's poller
	rc, err := ep.SyscallConn()
	if err != nil {
		_ = ep.Close()
		return false
	}
	g.ep = ep
	if g.byID == nil {
		g.byID = map[uint64]*hijackedWatch{}
	}
	go g.run(rc)
	return true
}

// closeIfEmpty closes the instance when nothing is registered, which ends
// its goroutine. Called with mu held.
func (g *goneWatcher) closeIfEmpty() {
	if len(g.byID) == 0 && g.ep != nil {
		_ = g.ep.Close()
		g.ep = nil
	}
}

// run waits for hang-ups on the instance of rc until it is closed.
func (g *goneWatcher) run(rc syscall.RawConn) {
	events := make([]syscall.EpollEvent, 64)
	for {
		n := 0
		err := rc.Read(func(fd uintptr) bool {
			var werr error
			n, werr = syscall.EpollWait(int(fd), events, 0)
			if werr != nil {
				n = 0
				return werr != syscall.EINTR && werr != syscall.EAGAIN
			}
			return n > 0 // none: wait until the instance is readable
		})
		if err != nil {
			return // closed
		}
		for _, ev := range events[:n] {
			g.gone(uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32)
		}
	}
}

// gone ends the stream of the watch registered as id, whose client went
// away; the stream's goroutine closes the connection.
func (g *goneWatcher) gone(id uint64) {
	g.mu.Lock()
	h := g.byID[id]
	if h != nil {
		g.removeLocked(h)
	}
	g.mu.Unlock()
	if h != nil {
		h.st.cancel()
	}
}

// rawConn is the descriptor access of c under the server's own wrappers
// and TLS; nil when another wrapper hides it.
func rawConn(c net.Conn) syscall.RawConn {
	for {
		switch x := c.(type) {
		case *tls.Conn:
			c = x.NetConn()
		case *countedConn:
			c = x.Conn
		case syscall.Conn:
			rc, err := x.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		default:
			return nil
		}
	}
}
