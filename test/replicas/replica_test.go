package replicas

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/internal/testkit"
)

// TestMain checks for leaked goroutines, waiting a bounded time for the
// connection goroutines of the stopped etcd members and replicas to end.
func TestMain(m *testing.M) { testkit.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// replica is one watchcached run in-process on some etcd endpoints,
// restartable on the same HTTP port so that clients keep its address.
// Safe for concurrent use.
type replica struct {
	name string
	mu   sync.Mutex
	cfg  app.Config  // guarded by mu; Listen fixed after the first start
	d    *app.Daemon // guarded by mu; nil while stopped
	base string      // http://host:port, fixed after the first start
}

// replicaConfig serves configmaps only, over HTTP only.
func replicaConfig(endpoints []string) app.Config {
	cfg := app.DefaultConfig()
	cfg.Listen, cfg.GRPCListen = "127.0.0.1:0", ""
	cfg.EtcdServers = endpoints
	cfg.DataDir = ""
	for _, r := range app.DefaultResources() {
		if r.Resource == "configmaps" {
			cfg.Resources = []*api.Resource{r}
		}
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	if os.Getenv("REPLICAS_VERBOSE") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

// startReplica starts a replica and waits until its cache is ready; the
// test's cleanup closes it.
func startReplica(t *testing.T, name string, cfg app.Config) *replica {
	t.Helper()
	r := &replica{name: name, cfg: cfg}
	t.Cleanup(func() { // also after a failed start
		if err := r.stop(); err != nil {
			t.Errorf("%s: close: %v", name, err)
		}
	})
	if err := r.start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	r.cfg.Listen = r.d.HTTPAddr
	r.base = "http://" + r.d.HTTPAddr
	return r
}

// start starts the daemon, retrying while the previous run's port is
// being released, and waits until it is ready. Caller holds mu or owns r.
func (r *replica) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		d, err := app.Start(ctx, r.cfg)
		if err == nil {
			r.d = d
			return d.WaitReady(ctx)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("start: %w", err)
		}
		t := time.NewTimer(50 * time.Millisecond) // a port in TIME_WAIT: retry, not a synchronisation
		<-t.C
	}
}

// stop closes the daemon (gracefully, bounded by ShutdownTimeout); a no-op
// when stopped.
func (r *replica) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.d == nil {
		return nil
	}
	err := r.d.Close(context.Background())
	r.d = nil
	return err
}

// restart starts a stopped replica again on its port.
func (r *replica) restart() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start()
}

// reply is one HTTP answer.
type reply struct {
	code int
	body []byte
}

// call sends one request; err is a transport error.
func call(ctx context.Context, hc *http.Client, method, url, contentType, body string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b}, err
}

// resourceVersion is metadata.resourceVersion of an object, a list or a
// Status.
func resourceVersion(body []byte) (uint64, error) {
	var v struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return 0, err
	}
	return strconv.ParseUint(v.Metadata.ResourceVersion, 10, 64)
}

// status is the part of a Status the tests compare.
type status struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Details struct {
		Causes []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

func decodeStatus(body []byte) (status, error) {
	var s status
	err := json.Unmarshal(body, &s)
	return s, err
}

// waitFor polls cond every 50 ms until it holds or the deadline passes;
// it gives up at once when the test already failed.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if t.Failed() {
			t.FailNow()
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		tm := time.NewTimer(50 * time.Millisecond)
		<-tm.C
	}
}
