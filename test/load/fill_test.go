package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdClient connects to the daemon's embedded etcd; closed by t.Cleanup.
func etcdClient(t *testing.T, d *daemon) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{d.etcdEP}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// podOfSize is a Pod's JSON of about size bytes (an annotation pads it).
func podOfSize(ns, name string, size int) string {
	head := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"namespace":%q,"annotations":{"pad":"`, name, ns)
	tail := `"}},"spec":{"nodeName":"node-1"}}`
	return head + strings.Repeat("x", max(0, size-len(head)-len(tail))) + tail
}

// fill writes n pods of about size bytes into namespace ns, 100 per
// transaction, and waits until a list from the cache holds them all.
func fill(t *testing.T, d *daemon, ns string, n, size int) {
	t.Helper()
	c := etcdClient(t, d)
	for i := 0; i < n; i += 100 {
		var ops []clientv3.Op
		for j := i; j < min(n, i+100); j++ {
			name := fmt.Sprintf("p-%05d", j)
			ops = append(ops, clientv3.OpPut("/registry/pods/"+ns+"/"+name, podOfSize(ns, name, size)))
		}
		if _, err := c.Txn(context.Background()).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// A consistent list waits until the cache has caught up with etcd.
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/namespaces/%s/pods?limit=1", d.http, ns))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("list: %s", resp.Status)
	}
}

// latencies are request durations; quantile sorts them.
type latencies []time.Duration

func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// getLatencies times n sequential GETs of one object.
func getLatencies(t *testing.T, c *http.Client, url string, n int) latencies {
	t.Helper()
	out := make(latencies, 0, n)
	for range n {
		begin := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET: %s", resp.Status)
		}
		out = append(out, time.Since(begin))
	}
	return out
}
