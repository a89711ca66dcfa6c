// Package etcdtest starts a real embedded etcd for tests: one per call, in
// t.TempDir(), on a free loopback port, stopped (clients first) by
// t.Cleanup. There is no mock of etcd in this project; tests use this.
package etcdtest

import (
	"context"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/watchcached/watchcached/etcdstore"
)

// Server is a running test etcd.
type Server struct {
	Endpoint string
	// Client is a client for the test's own use; closed by t.Cleanup.
	Client *clientv3.Client
	e      *etcdstore.Embedded
	stop   sync.Once
}

// Start starts an etcd for t. Everything it starts is stopped by t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{Dir: t.TempDir(), Fast: true})
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	s := &Server{Endpoint: e.Endpoint, e: e}
	t.Cleanup(s.Stop)
	s.Client = s.NewClient(t)
	return s
}

// Stop stops the server now, for tests of an unreachable etcd; clients stay
// open (and fail). Idempotent; t.Cleanup calls it too.
func (s *Server) Stop() { s.stop.Do(s.e.Close) }

// NewClient returns a new client of the server, closed by t.Cleanup before
// the server stops.
func (s *Server) NewClient(t testing.TB) *clientv3.Client {
	t.Helper()
	return newClient(t, s.Endpoint)
}

// newClient returns a client of endpoints, closed by t.Cleanup (so before
// whatever the test started earlier stops).
func newClient(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
