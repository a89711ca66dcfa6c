package replicas

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// TestReplicas_B240_ClientsNeverGoBack runs three replicas on a 3-member
// etcd cluster, each given the members in another order, a writer
// patching through replica 0, and four clients that move to the next
// replica on every request, alternating consistent lists and lists
// NotOlderThan the last RV they saw. No answer may carry an RV older than
// one the client already saw, and a consistent list none older than the
// writer's newest acknowledged write. Replica 1 is closed and started
// again mid-run; only it may refuse or be unreachable, and only then. A
// watcher resumes on the next replica every few events from the RV of
// its last one, as client-go's reflector does, and never gets an event at
// or before it.
func TestReplicas_B240_ClientsNeverGoBack(t *testing.T) {
	t.Parallel()
	cluster := etcdtest.StartCluster(t, 3)
	eps := cluster.Endpoints()
	var reps []*replica
	for i := range 3 {
		first := append(append([]string{}, eps[i:]...), eps[:i]...)
		reps = append(reps, startReplica(t, fmt.Sprintf("replica-%d", i), replicaConfig(first)))
	}
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	w := &writer{hc: hc, base: reps[0].base}
	w.create(t)

	run := &clientRun{reps: reps, w: w, hc: hc}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait(); hc.CloseIdleConnections() }) // before the replicas close
	wg.Go(func() { w.run(ctx, t) })
	clients := make([]*client, 4)
	for i := range clients {
		clients[i] = &client{id: i, run: run}
		wg.Go(func() { clients[i].loop(ctx, t) })
	}
	wt := &watcher{run: run}
	from := w.acked.Load()
	wg.Go(func() {
		if err := wt.loop(ctx, from); err != nil {
			t.Errorf("watcher: %v", err)
		}
	})
	each := func(n int64, count func(*client) int64) func() bool {
		return func() bool {
			for _, c := range clients {
				if count(c) < n {
					return false
				}
			}
			return true
		}
	}
	ok := func(c *client) int64 { return c.ok.Load() }
	waitFor(t, "every client read 15 times", 15*time.Second, each(15, ok))

	run.down.Store(true)
	if err := reps[1].stop(); err != nil {
		t.Fatalf("close replica-1: %v", err)
	}
	before := make([]int64, len(clients))
	for i, c := range clients {
		before[i] = c.ok.Load()
	}
	waitFor(t, "every client read 10 times while replica-1 is down", 15*time.Second, func() bool {
		for i, c := range clients {
			if c.ok.Load() < before[i]+10 {
				return false
			}
		}
		return true
	})
	if err := reps[1].restart(); err != nil {
		t.Fatalf("restart replica-1: %v", err)
	}
	run.restarted.Store(true)
	run.down.Store(false)
	waitFor(t, "every client read 5 times from the restarted replica-1", 15*time.Second,
		each(5, func(c *client) int64 { return c.okRestarted.Load() }))
	resumed := wt.resumed.Load()
	waitFor(t, "the watcher resumed on three more replicas", 15*time.Second, func() bool { return wt.resumed.Load() >= resumed+3 })
	cancel()
	wg.Wait()

	var reads, refused, tooLarge int64
	for _, c := range clients {
		reads, refused, tooLarge = reads+c.ok.Load(), refused+c.refused.Load(), tooLarge+c.tooLarge.Load()
	}
	t.Logf("%d writes, %d reads (%d refused by the stopped replica, %d 504 ResourceVersionTooLarge), newest RV %d; watcher: %d events over %d resumed watches",
		w.n.Load(), reads, refused, tooLarge, w.acked.Load(), wt.events.Load(), wt.resumed.Load())
	if w.n.Load() < 2*objects {
		t.Errorf("only %d writes: the reads did not race the writer", w.n.Load())
	}
}

// clientRun is what the clients share.
type clientRun struct {
	reps      []*replica
	w         *writer
	hc        *http.Client
	down      atomic.Bool // replica 1 is stopped or starting: it may refuse
	restarted atomic.Bool // replica 1 was started again
}

// client reads from the replicas in turn; its counters are read by the
// test while it runs.
type client struct {
	id          int
	run         *clientRun
	last        uint64       // owned by loop: the newest RV seen
	ok          atomic.Int64 // reads answered 200
	okRestarted atomic.Int64 // of which from replica 1 after its restart
	refused     atomic.Int64 // replica 1 unreachable or 429 while down
	tooLarge    atomic.Int64 // 504 ResourceVersionTooLarge
}

// loop reads until ctx ends or a read breaks the rules (t.Errorf).
func (c *client) loop(ctx context.Context, t *testing.T) {
	r := c.run
	for i := 0; ctx.Err() == nil; i++ {
		k := (c.id + i) % len(r.reps)
		if err := c.read(ctx, k, i%2 == 0 || c.last == 0); err != nil {
			if ctx.Err() == nil {
				t.Errorf("client %d: %v", c.id, err)
			}
			return
		}
	}
}

// read lists from replica k once, consistently or NotOlderThan c.last.
func (c *client) read(ctx context.Context, k int, consistent bool) error {
	r := c.run
	url, floor, kind := r.reps[k].base+collection, c.last, "consistent"
	if consistent {
		floor = max(floor, r.w.acked.Load())
	} else {
		url += fmt.Sprintf("?resourceVersion=%d&resourceVersionMatch=NotOlderThan", c.last)
		kind = fmt.Sprintf("NotOlderThan %d", c.last)
	}
	down, restarted := r.down.Load(), r.restarted.Load()
	rep, err := call(ctx, r.hc, http.MethodGet, url, "", "")
	if ctx.Err() != nil {
		return nil
	}
	mayRefuse := k == 1 && (down || r.down.Load())
	switch {
	case (err != nil || rep.code == http.StatusTooManyRequests) && mayRefuse:
		c.refused.Add(1)
		return nil
	case err != nil:
		return fmt.Errorf("%s list from replica-%d: %v", kind, k, err)
	case rep.code == http.StatusGatewayTimeout && !consistent:
		c.tooLarge.Add(1)
		return checkTooLarge(rep.body, c.last)
	case rep.code != http.StatusOK:
		return fmt.Errorf("%s list from replica-%d: %d %s", kind, k, rep.code, rep.body)
	}
	rv, err := resourceVersion(rep.body)
	if err != nil {
		return err
	}
	if rv < floor {
		return fmt.Errorf("%s list from replica-%d answered RV %d, older than %d already seen or acknowledged", kind, k, rv, floor)
	}
	c.last = rv
	c.ok.Add(1)
	if k == 1 && restarted {
		c.okRestarted.Add(1)
	}
	return nil
}

// checkTooLarge checks a 504 is kube-apiserver's "Too large resource
// version" for want, the answer of one replica that did not catch up in
// time.
func checkTooLarge(body []byte, want uint64) error {
	st, err := decodeStatus(body)
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("Too large resource version: %d, current: ", want)
	if st.Code != 504 || st.Reason != "Timeout" || !strings.HasPrefix(st.Message, prefix) ||
		len(st.Details.Causes) != 1 || st.Details.Causes[0].Reason != "ResourceVersionTooLarge" {
		return fmt.Errorf("a 504 that is not ResourceVersionTooLarge for %d: %s", want, body)
	}
	return nil
}
