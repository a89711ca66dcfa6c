package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/internal/testkit"
)

// TestLoad_B205_WatchersHTTP: WATCHCACHED_LOAD_WATCHERS (10,000) HTTP/1.1
// watchers, one connection each, spread over WATCHCACHED_LOAD_NAMESPACES
// (100) namespaces, while WATCHCACHED_LOAD_WRITES (1,000) writes a second
// go to etcd for WATCHCACHED_LOAD_DURATION (10 min): every watcher gets
// exactly its namespace's changes (RV sequence compared), every watch ends
// at its timeoutSeconds, and the daemon's RSS is sampled each second.
func TestLoad_B205_WatchersHTTP(t *testing.T) { runWatchers(t, "http") }

// TestLoad_B205_WatchersGRPC: the same over gRPC, 500 streams per
// connection.
func TestLoad_B205_WatchersGRPC(t *testing.T) { runWatchers(t, "grpc") }

// watchResult is what one watcher saw. Written by its goroutine only,
// read after it ended.
type watchResult struct {
	count  int
	hash   uint64
	lastAt time.Time // when the last event arrived
	ended  time.Time
	broken string // why the stream did not end cleanly, "" if it did
}

// rvHash folds rv into an FNV-1a hash of an RV sequence.
func rvHash(h uint64, rv uint64) uint64 {
	f := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], h)
	binary.BigEndian.PutUint64(b[8:], rv)
	_, _ = f.Write(b[:])
	return f.Sum64()
}

func runWatchers(t *testing.T, frontend string) {
	loadEnabled(t)
	n, rate := envInt(t, "WATCHCACHED_LOAD_WATCHERS", 10000), envInt(t, "WATCHCACHED_LOAD_WRITES", 1000)
	nsN, dur := envInt(t, "WATCHCACHED_LOAD_NAMESPACES", 100), loadDuration(t)
	d := start(t)
	etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{d.etcdEP}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	ctx := context.Background()
	cur, err := etcd.Get(ctx, "/registry/none")
	if err != nil {
		t.Fatal(err)
	}
	startRV := uint64(cur.Header.Revision)
	timeout := dur + 20*time.Second
	results := make([]watchResult, n)
	var started sync.WaitGroup
	var ended sync.WaitGroup
	started.Add(n)
	ended.Add(n)
	watchStart := time.Now()
	open := openWatchers(t, frontend, d, n, nsN, startRV, timeout, results, &started, &ended)
	defer open.close()
	started.Wait()
	t.Logf("%d %s watchers open in %v; RSS %.0f MiB; daemon at %s", n, frontend, time.Since(watchStart), float64(d.rss(t))/(1<<20), d.http)

	stop := make(chan struct{})
	samples, sampled := d.sampleRSS(t, stop)
	rvs, writes := write(t, etcd, nsN, rate, dur)
	writesEnd := time.Now()
	t.Logf("wrote %d changes in %v (%.0f/s asked %d/s)", writes, dur, float64(writes)/dur.Seconds(), rate)
	waitOrFail(t, &ended, timeout+60*time.Second-time.Since(watchStart), "watches ending at their timeout")
	close(stop)
	<-sampled
	checkWatchers(t, results, rvs, nsN, watchStart, writesEnd, timeout)
	reportRSS(t, *samples, "load-watchers-"+frontend, fmt.Sprintf("%d %s watchers, %d writes/s", n, frontend, rate))
}

// openWatchers starts n watchers (watcher i watches namespace i%nsN from
// startRV); each calls started.Done once its stream is open and
// ended.Done once it has ended.
func openWatchers(t *testing.T, frontend string, d *daemon, n, nsN int, startRV uint64, timeout time.Duration,
	results []watchResult, started, ended *sync.WaitGroup) *opened {
	o := &opened{}
	if frontend == "grpc" {
		for i := 0; i < (n+499)/500; i++ {
			c, err := client.Dial(d.grpc)
			if err != nil {
				t.Fatal(err)
			}
			o.clients = append(o.clients, c)
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}
	o.tr = tr
	sem := make(chan struct{}, 200) // opening at most 200 at once
	for i := range n {
		sem <- struct{}{}
		go func() {
			ns := fmt.Sprintf("ns-%03d", i%nsN)
			if frontend == "grpc" {
				grpcWatch(o.clients[i%len(o.clients)], ns, startRV, timeout, &results[i], func() { <-sem; started.Done() })
			} else {
				httpWatch(tr, d.http, ns, startRV, timeout, &results[i], func() { <-sem; started.Done() })
			}
			ended.Done()
		}()
	}
	return o
}

type opened struct {
	tr      *http.Transport
	clients []*client.Client
}

func (o *opened) close() {
	o.tr.CloseIdleConnections()
	for _, c := range o.clients {
		_ = c.Close()
	}
}

var rvKey = []byte(`"resourceVersion":"`)

func httpWatch(tr *http.Transport, base, ns string, from uint64, timeout time.Duration, r *watchResult, opened func()) {
	url := fmt.Sprintf("%s/api/v1/namespaces/%s/pods?watch=true&resourceVersion=%d&timeoutSeconds=%d", base, ns, from, int(timeout.Seconds()))
	resp, err := (&http.Client{Transport: tr}).Get(url)
	opened()
	if err != nil {
		r.broken, r.ended = err.Error(), time.Now()
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		r.broken, r.ended = resp.Status, time.Now()
		return
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		i := bytes.Index(line, rvKey)
		if i < 0 || bytes.Contains(line, []byte(`"type":"ERROR"`)) {
			r.broken = string(line)
			break
		}
		rest := line[i+len(rvKey):]
		j := bytes.IndexByte(rest, '"')
		rv, err := strconv.ParseUint(string(rest[:j]), 10, 64)
		if err != nil {
			r.broken = string(line)
			break
		}
		r.hash, r.count, r.lastAt = rvHash(r.hash, rv), r.count+1, time.Now()
	}
	if err := sc.Err(); err != nil && r.broken == "" {
		r.broken = err.Error()
	}
	r.ended = time.Now()
}

func grpcWatch(c *client.Client, ns string, from uint64, timeout time.Duration, r *watchResult, opened func()) {
	w, err := c.Watch(context.Background(), &pb.WatchRequest{Resource: &pb.Resource{Version: "v1", Resource: "pods"},
		Namespace: ns, ResourceVersion: strconv.FormatUint(from, 10), TimeoutSeconds: int64(timeout.Seconds())})
	opened()
	if err != nil {
		r.broken, r.ended = err.Error(), time.Now()
		return
	}
	defer w.Close()
	for {
		ev, err := w.Next()
		if err != nil {
			if err.Error() != "EOF" {
				r.broken = err.Error()
			}
			break
		}
		r.hash, r.count, r.lastAt = rvHash(r.hash, ev.ResourceVersion), r.count+1, time.Now()
	}
	r.ended = time.Now()
}

// write puts rate changes a second, for dur, to 100 pods of each of nsN
// namespaces, round robin, from WATCHCACHED_LOAD_WRITERS (32) goroutines
// (each owns some namespaces, so each namespace's revisions are recorded
// in order); it returns each namespace's revisions and the number written.
func write(t *testing.T, etcd *clientv3.Client, nsN, rate int, dur time.Duration) ([][]uint64, int) {
	writers := min(envInt(t, "WATCHCACHED_LOAD_WRITERS", 32), nsN)
	rvs := make([][]uint64, nsN)
	tokens := make(chan struct{}, rate)
	go func() {
		defer close(tokens)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		end, owed := time.Now().Add(dur), 0.0
		for time.Now().Before(end) {
			<-tick.C
			for owed += float64(rate) / 100; owed >= 1; owed-- {
				select {
				case tokens <- struct{}{}:
				default: // the writers are behind: the rate reached is reported
				}
			}
		}
	}()
	var total atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			seq, owned := 0, (nsN-w+writers-1)/writers // namespaces w, w+writers, ...
			for range tokens {
				ns := w + writers*(seq%owned)
				name := fmt.Sprintf("p-%02d", (seq/owned)%100)
				nsName := fmt.Sprintf("ns-%03d", ns)
				resp, err := etcd.Put(context.Background(), "/registry/pods/"+nsName+"/"+name,
					string(testkit.PodJSON(nsName, name, "node-1", map[string]string{"seq": strconv.Itoa(seq)})))
				if err != nil {
					t.Errorf("put: %v", err)
					return
				}
				rvs[ns] = append(rvs[ns], uint64(resp.Header.Revision))
				total.Add(1)
				seq++
			}
		})
	}
	wg.Wait()
	return rvs, int(total.Load())
}

func waitOrFail(t *testing.T, wg *sync.WaitGroup, bound time.Duration, what string) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(bound):
		t.Fatalf("%s: not within %v", what, bound)
	}
}

// checkWatchers compares each watcher's RV sequence with its namespace's
// and its end with its timeout. A watcher that got a strict prefix of its
// namespace's sequence when its timeout ended it was behind, not wrong:
// nothing was skipped, and a client resuming from its last RV gets the
// rest. Those are counted (with the largest number of events still to
// come) but are not failures; any other difference is.
func checkWatchers(t *testing.T, results []watchResult, rvs [][]uint64, nsN int, begin, writesEnd time.Time, timeout time.Duration) {
	prefix := make([][]uint64, nsN) // prefix[ns][k]: hash of the first k RVs
	for ns, seq := range rvs {
		prefix[ns] = make([]uint64, len(seq)+1)
		for k, rv := range seq {
			prefix[ns][k+1] = rvHash(prefix[ns][k], rv)
		}
	}
	lost, broken, early, late, events, behind, maxBehind := 0, 0, 0, 0, 0, 0, 0
	var catchUp []time.Duration // complete watchers: last event's arrival after the last write
	var idle []time.Duration    // watchers behind: from their last event to their end
	for i, r := range results {
		ns := i % nsN
		events += r.count
		switch {
		case r.broken != "":
			broken++
			if broken <= 3 {
				t.Errorf("watcher %d: %s", i, r.broken)
			}
		case r.count < len(rvs[ns]) && r.hash == prefix[ns][r.count]:
			behind++
			maxBehind = max(maxBehind, len(rvs[ns])-r.count)
			idle = append(idle, r.ended.Sub(r.lastAt))
		case r.count == len(rvs[ns]) && r.hash == prefix[ns][len(rvs[ns])]:
			catchUp = append(catchUp, r.lastAt.Sub(writesEnd))
		default:
			lost++
			if lost <= 3 {
				t.Errorf("watcher %d (ns %d): %d events, want %d (or another sequence)", i, ns, r.count, len(rvs[ns]))
			}
		}
		if took := r.ended.Sub(begin); took < timeout-time.Second {
			early++
		} else if took > timeout+30*time.Second {
			late++
		}
	}
	t.Logf("%d watchers: %d events delivered; %d behind at their timeout (a correct prefix, at most %d events short), "+
		"%d with a wrong sequence, %d broken, %d ended early, %d late", len(results), events, behind, maxBehind, lost, broken, early, late)
	if len(catchUp) > 0 {
		slices.Sort(catchUp)
		t.Logf("complete watchers' last event after the last write: p50 %v, p99 %v, max %v",
			catchUp[len(catchUp)/2], catchUp[len(catchUp)*99/100], catchUp[len(catchUp)-1])
	}
	if len(idle) > 0 { // short: still receiving at the end (slow); long: stuck
		slices.Sort(idle)
		t.Logf("watchers behind: last event before their end by p50 %v, max %v", idle[len(idle)/2], idle[len(idle)-1])
	}
	if lost+broken+early+late > 0 {
		t.Errorf("%d lost, %d broken, %d early, %d late", lost, broken, early, late)
	}
}
