package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// listStorage answers every List with the same list (benchmarks only).
type listStorage struct {
	api.Storage
	list *api.List
}

func (s *listStorage) Resource() *api.Resource { return podsRes }

func (s *listStorage) List(context.Context, api.ListOptions) (*api.List, error) { return s.list, nil }

// benchPods is a list of n pods of about 1.3 KiB each, as a kubelet
// leaves them: two containers, conditions, statuses.
func benchPods(n int) *api.List {
	l := &api.List{RV: 100}
	for i := range n {
		raw := fmt.Sprintf(`{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"%d","name":"web-%d","namespace":"default","uid":"7c1b0b5e-0000-4000-8000-%012d","creationTimestamp":"2025-01-01T00:00:00Z","labels":{"app":"web","pod-template-hash":"5d8f7c"}},`+
			`"spec":{"nodeName":"node-%d","containers":[{"name":"web","image":"nginx:1.27","ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}},{"name":"sidecar","image":"busybox:1.36","args":["sleep","infinity"]}],"restartPolicy":"Always","schedulerName":"default-scheduler"},`+
			`"status":{"phase":"Running","podIP":"10.1.%d.%d","hostIP":"10.0.0.%d","startTime":"2025-01-01T00:00:01Z","conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":"True"},{"type":"ContainersReady","status":"True"},{"type":"PodScheduled","status":"True"}],`+
			`"containerStatuses":[{"name":"web","ready":true,"restartCount":1,"image":"nginx:1.27","imageID":"docker.io/library/nginx@sha256:0000","containerID":"containerd://0001","started":true,"state":{"running":{"startedAt":"2025-01-01T00:00:05Z"}},"lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"2025-01-01T00:00:04Z"}}},`+
			`{"name":"sidecar","ready":true,"restartCount":0,"image":"busybox:1.36","imageID":"docker.io/library/busybox@sha256:0000","containerID":"containerd://0002","started":true,"state":{"running":{"startedAt":"2025-01-01T00:00:05Z"}}}],"qosClass":"Burstable"}}`,
			i+1, i, i, i%50, i/250, i%250, i%50)
		l.Items = append(l.Items, &api.Object{Raw: []byte(raw), RV: uint64(i + 1), Name: fmt.Sprintf("web-%d", i), Namespace: "default"})
	}
	return l
}

// BenchmarkList_10kPods compares a JSON LIST of 10,000 pods with the
// Table LIST kubectl get asks for (B224): the Table's rows are built once
// per object and then rendered from their templates, so in the steady
// state a Table costs a pass over its rows (target: at most 3x the JSON
// list).
func BenchmarkList_10kPods(b *testing.B) {
	st := &listStorage{list: benchPods(10000)}
	srv, err := New(Config{Storages: []api.Storage{st}, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for _, bc := range []struct{ name, accept string }{
		{"JSON", "application/json"},
		{"Table", acceptTableV1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/pods", nil)
			req.Header.Set("Accept", bc.accept)
			w := &countWriter{h: http.Header{}}
			h.ServeHTTP(w, req) // the first Table request builds the templates
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w.n = 0
				h.ServeHTTP(w, req)
			}
			b.ReportMetric(float64(w.n), "bytes/op-body")
		})
	}
}

// countWriter is a ResponseWriter that only counts the body.
type countWriter struct {
	h http.Header
	n int
}

func (w *countWriter) Header() http.Header         { return w.h }
func (w *countWriter) WriteHeader(int)             {}
func (w *countWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// BenchmarkList_10kPodsLoopback is BenchmarkList_10kPods over a real
// loopback connection, the client reading the whole body: what a LIST
// costs end to end (the JSON list is 14 MB on the wire, the Table 4 MB).
func BenchmarkList_10kPodsLoopback(b *testing.B) {
	st := &listStorage{list: benchPods(10000)}
	srv, err := New(Config{Storages: []api.Storage{st}, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	b.Cleanup(c.CloseIdleConnections)
	for _, bc := range []struct{ name, accept string }{
		{"JSON", "application/json"},
		{"Table", acceptTableV1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			get := func() int64 {
				req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/pods", nil)
				req.Header.Set("Accept", bc.accept)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%d %v", resp.StatusCode, err)
				}
				return n
			}
			get() // the first Table request builds the templates
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				n = get()
			}
			b.ReportMetric(float64(n), "bytes/op-body")
		})
	}
}
