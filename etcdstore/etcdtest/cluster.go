package etcdtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is a running multi-member embedded etcd on loopback, for fault
// tests: members can be stopped and restarted on the same data directory
// and the same ports. Its methods are safe for concurrent use; each
// member's start and stop are serialised by the member's own lock.
type Cluster struct {
	members []*Member
	initial string // the --initial-cluster value, fixed at creation
}

// Member is one etcd of a Cluster.
type Member struct {
	// Name is the member's name, "m0", "m1", ...
	Name string
	// ClientURL is the member's client URL, e.g. "http://127.0.0.1:40123";
	// the same across restarts.
	ClientURL string
	peerURL   string
	dir       string

	mu sync.Mutex  // serialises start and stop
	e  *embed.Etcd // guarded by mu; nil while stopped
}

// StartCluster starts an n-member cluster in t.TempDir() on free loopback
// ports and waits until every member serves. t.Cleanup stops every member
// (close clients first: t.Cleanup of NewClient runs before, as it is
// registered later).
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	ports, err := freePorts(2 * n)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	c := &Cluster{}
	var initial []string
	base := t.TempDir()
	for i := range n {
		m := &Member{
			Name:      fmt.Sprintf("m%d", i),
			ClientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			peerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			dir:       filepath.Join(base, fmt.Sprintf("m%d", i)),
		}
		c.members = append(c.members, m)
		initial = append(initial, m.Name+"="+m.peerURL)
	}
	c.initial = strings.Join(initial, ",")
	t.Cleanup(c.StopAll)
	if err := c.startAll(); err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	return c
}

// freePorts reserves n distinct free loopback ports and releases them: a
// port could be taken by another process before etcd binds it, which
// makes the start fail loudly rather than misbehave.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Size is the number of members.
func (c *Cluster) Size() int { return len(c.members) }

// Member returns member i.
func (c *Cluster) Member(i int) *Member { return c.members[i] }

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Kill stops member i (a no-op when it is stopped). Its clients' streams
// are cut; a stopped leader hands leadership over first, as etcd does on
// shutdown.
func (c *Cluster) Kill(i int) { c.members[i].stop() }

// Restart starts member i again on its data directory and ports (a no-op
// when it runs) and waits until it serves, which needs a quorum.
func (c *Cluster) Restart(i int) error {
	m := c.members[i]
	if err := m.start(c.initial); err != nil {
		return err
	}
	return m.waitReady(60 * time.Second)
}

// RestartAll stops every member, then starts them all again on their data
// directories and waits until they serve.
func (c *Cluster) RestartAll() error {
	c.StopAll()
	return c.startAll()
}

// StopAll stops every member (concurrently: a member waits for its peers
// while it stops). Idempotent.
func (c *Cluster) StopAll() {
	var wg sync.WaitGroup
	for _, m := range c.members {
		wg.Go(m.stop)
	}
	wg.Wait()
}

// startAll starts every stopped member, then waits for all: no member
// becomes ready before a quorum runs.
func (c *Cluster) startAll() error {
	for _, m := range c.members {
		if err := m.start(c.initial); err != nil {
			return err
		}
	}
	for _, m := range c.members {
		if err := m.waitReady(60 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

// Leader is the index of the member that is leader by its own account, or
// -1 when no running member is.
func (c *Cluster) Leader() int {
	for i, m := range c.members {
		m.mu.Lock()
		e := m.e
		m.mu.Unlock()
		if e != nil && uint64(e.Server.MemberID()) == e.Server.Lead() {
			return i
		}
	}
	return -1
}

// Running reports whether member i runs.
func (c *Cluster) Running(i int) bool {
	m := c.members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.e != nil
}

// NewClient returns a client of the given endpoints (all members when
// none are given), closed by t.Cleanup before the cluster stops.
func (c *Cluster) NewClient(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	if len(endpoints) == 0 {
		endpoints = c.Endpoints()
	}
	return newClient(t, endpoints...)
}

func (m *Member) start(initial string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.e != nil {
		return nil
	}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = m.Name, m.dir
	cu, _ := url.Parse(m.ClientURL)
	pu, _ := url.Parse(m.peerURL)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = initial
	cfg.InitialClusterToken = "etcdtest-cluster"
	cfg.ListenMetricsUrls = nil
	// Short ticks for quick elections, but not so short that a loaded
	// machine (2 cores, several members) elects a new leader constantly.
	cfg.TickMs, cfg.ElectionMs = 25, 250
	cfg.UnsafeNoFsync = true
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start member %s: %w", m.Name, err)
	}
	m.e = e
	return nil
}

func (m *Member) waitReady(d time.Duration) error {
	m.mu.Lock()
	e := m.e
	m.mu.Unlock()
	if e == nil {
		return fmt.Errorf("member %s is stopped", m.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	select {
	case <-e.Server.ReadyNotify():
		return nil
	case err := <-e.Err():
		return fmt.Errorf("member %s failed: %w", m.Name, err)
	case <-ctx.Done():
		return fmt.Errorf("member %s not ready after %v", m.Name, d)
	}
}

func (m *Member) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.e != nil {
		m.e.Close()
		m.e = nil
	}
}
