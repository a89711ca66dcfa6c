package server

import (
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/netutil"
)

// Connection limits (B203). kube-apiserver has no bound on its
// connections (only on requests in flight, which an idle keep-alive
// connection or a watch does not hold), so this is an addition: a
// listener that keeps at most a number of connections open. A connection
// over the bound is not refused: it waits in the kernel's accept queue
// until one closes (netutil.LimitListener), so a burst is smoothed rather
// than failed, and a client sees a slow connect, never a reset.

// connMetrics count a frontend's connections. Safe for concurrent use.
type connMetrics struct {
	open     *prometheus.GaugeVec   // frontend
	accepted *prometheus.CounterVec // frontend
}

func newConnMetrics() *connMetrics {
	return &connMetrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_connections",
			Help: "Open client connections by frontend (http, grpc).",
		}, []string{"frontend"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_connections_accepted_total",
			Help: "Client connections accepted by frontend (http, grpc).",
		}, []string{"frontend"}),
	}
}

// Listener wraps ln for the frontend ("http" or "grpc"): its connections
// are counted (watchcached_connections, _accepted_total) and, when max >
// 0, at most max are open at once; Accept waits for one to close. The
// result is safe for concurrent use, as ln is.
func (s *Server) Listener(ln net.Listener, frontend string, max int) net.Listener {
	ln = &countingListener{Listener: ln, open: s.conns.open.WithLabelValues(frontend),
		accepted: s.conns.accepted.WithLabelValues(frontend)}
	if max > 0 {
		ln = netutil.LimitListener(ln, max)
	}
	return ln
}

// countingListener counts the connections it accepts while they are open.
type countingListener struct {
	net.Listener
	open     prometheus.Gauge
	accepted prometheus.Counter
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.accepted.Inc()
	l.open.Inc()
	return &countedConn{Conn: c, open: l.open}, nil
}

// countedConn takes itself off the open gauge once, at its first Close.
type countedConn struct {
	net.Conn
	open prometheus.Gauge
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(c.open.Dec)
	return c.Conn.Close()
}
