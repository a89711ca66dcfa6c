package server

// Benchmarks of the streamed list path and of protobuf lists
// (docs/BENCHMARKS.md, "Streamed lists and protobuf"). Opt-in:
//
//	go test -run '^$' -bench 'List|ProtoEncode' -benchtime 10x ./server/

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/kubeproto"
)

// benchPodJSON is a ~1 KB pod with the variety of a real one (uids,
// addresses, timestamps), so that gzip figures are not those of padding.
func benchPodJSON(i int, rv uint64) []byte {
	return fmt.Appendf(nil, `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-%05d-%x","namespace":"ns%d",`+
		`"uid":"%08x-%04x-4%03x-a%03x-%012x","resourceVersion":"%d","creationTimestamp":"2026-11-%02dT%02d:%02d:%02dZ",`+
		`"labels":{"app":"web-%d","pod-template-hash":"%x","tier":"frontend"},"annotations":{"checksum/config":"%016x%016x"},`+
		`"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-%d-%x","uid":"%08x-aaaa-4bbb-8ccc-%012x","controller":true,"blockOwnerDeletion":true}]},`+
		`"spec":{"containers":[{"name":"app","image":"registry.example/team/web:%d.%d.%d","ports":[{"containerPort":8080,"protocol":"TCP"}],`+
		`"resources":{"requests":{"cpu":"%dm","memory":"%dMi"}},"terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}],`+
		`"restartPolicy":"Always","dnsPolicy":"ClusterFirst","nodeName":"node-%03d","serviceAccountName":"default","schedulerName":"default-scheduler"},`+
		`"status":{"phase":"Running","hostIP":"10.0.%d.%d","podIP":"10.%d.%d.%d","startTime":"2026-11-%02dT%02d:%02d:%02dZ",`+
		`"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-11-%02dT%02d:%02d:%02dZ"}],`+
		`"containerStatuses":[{"name":"app","ready":true,"restartCount":%d,"image":"registry.example/team/web:%d.%d.%d","imageID":"registry.example/team/web@sha256:%016x%016x","containerID":"containerd://%016x%016x"}]}}`,
		i, i*7919, i%10, i*2654435761, i%65536, i%4096, (i*31)%4096, uint64(i)*0x9e3779b97f4a7c15>>16, rv,
		1+i%28, i%24, i%60, (i*7)%60, i%50, i*40503, uint64(i)*0xbf58476d1ce4e5b9, uint64(i)*0x94d049bb133111eb,
		i%50, i*40503, i*97, uint64(i)*0x2545f4914f6cdd1d>>16,
		1+i%3, i%10, i%7, 100+i%400, 64+i%512, i%500, i%250, i%250, (i/250)%250, i%250, (i*3)%250,
		1+i%28, i%24, i%60, (i*11)%60, 1+i%28, i%24, i%60, (i*13)%60, i%5, 1+i%3, i%10, i%7,
		uint64(i)*0x9e3779b97f4a7c15, uint64(i)*0xd1b54a32d192ed03, uint64(i)*0xaef17502108ef2d9, uint64(i)*0x8cb92ba72f3d8dd7)
}

// benchObjects builds n pods as the cache holds them.
func benchObjects(n int) []*api.Object {
	objs := make([]*api.Object, n)
	for i := range objs {
		rv := uint64(i + 2)
		objs[i] = &api.Object{Namespace: fmt.Sprintf("ns%d", i%10), Name: fmt.Sprintf("web-%05d", i), RV: rv, Raw: benchPodJSON(i, rv)}
	}
	return objs
}

// seqStorage answers every list as the cache answers an unlimited one
// (api.StreamLister): a Seq over objects it already holds, so that only
// the server's part of a list is measured.
type seqStorage struct {
	api.Storage
	res  *api.Resource
	objs []*api.Object
}

func (s *seqStorage) Resource() *api.Resource { return s.res }

func (s *seqStorage) List(ctx context.Context, opts api.ListOptions) (*api.List, error) {
	return &api.List{Items: s.objs, RV: uint64(len(s.objs) + 1)}, nil
}

func (s *seqStorage) StreamList(ctx context.Context, opts api.ListOptions) (*api.List, error) {
	return &api.List{RV: uint64(len(s.objs) + 1), Seq: func(yield func(*api.Object) bool) {
		for _, o := range s.objs {
			if !yield(o) {
				return
			}
		}
	}}, nil
}

func benchServer(b *testing.B, objs []*api.Object) *Server {
	b.Helper()
	srv, err := New(Config{Storages: []api.Storage{&seqStorage{res: podsRes, objs: objs}}, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// listBytes is the size of the JSON list of objs.
func listBytes(objs []*api.Object) int64 {
	n := int64(0)
	for _, o := range objs {
		n += int64(len(o.Raw)) + 1
	}
	return n
}

// firstWriteWriter discards a response, recording when its first byte
// was written.
type firstWriteWriter struct {
	h     http.Header
	first time.Time
}

func (d *firstWriteWriter) Header() http.Header { return d.h }
func (d *firstWriteWriter) WriteHeader(int)     {}
func (d *firstWriteWriter) Write(b []byte) (int, error) {
	if d.first.IsZero() {
		d.first = time.Now()
	}
	return len(b), nil
}

// BenchmarkListStream serves a list of 10,000 ~1 KB pods in process into
// a discarding writer: the server's CPU and allocations per list, and the
// time from the request to the first body byte (ttfb-us).
func BenchmarkListStream(b *testing.B) {
	objs := benchObjects(10000)
	srv := benchServer(b, objs)
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("Objects=10000/gzip=%v", gz), func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, "/api/v1/pods", nil)
			if gz {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			b.SetBytes(listBytes(objs))
			b.ReportAllocs()
			var ttfb time.Duration
			for b.Loop() {
				srv.gzShares.forget() // a gzip list compresses anew
				w := &firstWriteWriter{h: http.Header{}}
				start := time.Now()
				srv.Handler().ServeHTTP(w, req)
				ttfb += w.first.Sub(start)
			}
			b.ReportMetric(float64(ttfb.Microseconds())/float64(b.N), "ttfb-us")
		})
	}
}

// stallWriter is a response writer whose client stopped reading: its
// first Write blocks until release is closed, then fails as a write cut
// by its deadline does.
type stallWriter struct {
	h       http.Header
	stalled *sync.WaitGroup
	once    sync.Once
	release chan struct{}
}

func (s *stallWriter) Header() http.Header { return s.h }
func (s *stallWriter) WriteHeader(int)     {}
func (s *stallWriter) Write(b []byte) (int, error) {
	s.once.Do(s.stalled.Done)
	<-s.release
	return 0, errStreamDeadline
}

// BenchmarkListInFlight holds 100 lists of 10,000 ~1 KB pods (10 MB each)
// in flight at once, each blocked on its first write as if its client had
// stopped reading, and reports the heap each one holds (heap-B/list,
// HeapInuse after GC with the lists stalled, minus before).
func BenchmarkListInFlight(b *testing.B) {
	const lists = 100
	objs := benchObjects(10000)
	srv := benchServer(b, objs)
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("Objects=10000/gzip=%v", gz), func(b *testing.B) {
			var perList float64
			for b.Loop() {
				perList += stalledHeap(srv, lists, gz) / lists
			}
			b.ReportMetric(perList/float64(b.N), "heap-B/list")
		})
	}
}

// stalledHeap is the heap growth, after GC, while n lists are stalled in
// their first write.
func stalledHeap(srv *Server, n int, gz bool) float64 {
	var before, during runtime.MemStats
	runtime.GC() // twice: sync.Pool keeps a victim generation
	runtime.GC()
	runtime.ReadMemStats(&before)
	var stalled, done sync.WaitGroup
	stalled.Add(n)
	release := make(chan struct{})
	for range n {
		done.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, "/api/v1/pods", nil)
			if gz {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			srv.Handler().ServeHTTP(&stallWriter{h: http.Header{}, stalled: &stalled, release: release}, req)
		})
	}
	stalled.Wait()
	runtime.GC()
	runtime.ReadMemStats(&during)
	close(release)
	done.Wait()
	return float64(int64(during.HeapInuse) - int64(before.HeapInuse))
}

// BenchmarkListLoopback reads the whole list of 10,000 ~1 KB pods over
// loopback HTTP/1.1 without gzip: the streamed path against the former
// one (the whole body built, then written with its Content-Length) in the
// same run.
func BenchmarkListLoopback(b *testing.B) {
	objs := benchObjects(10000)
	srv := benchServer(b, objs)
	whole := wholeListHandler(srv, objs)
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"path=streamed", srv.Handler()}, {"path=whole", whole}} {
		b.Run("Objects=10000/"+tc.name, func(b *testing.B) {
			ts := httptest.NewServer(tc.h)
			defer ts.Close()
			cli := ts.Client()
			b.SetBytes(listBytes(objs))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := cli.Get(ts.URL + "/api/v1/pods")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
			}
		})
	}
}

// wholeListHandler serves the list of objs as lists were served before
// they were streamed: the whole body built in one buffer, then written
// (gzip-compressed in one Write when asked for).
func wholeListHandler(srv *Server, objs []*api.Object) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := &api.List{Items: objs, RV: uint64(len(objs) + 1)}
		buf := getBuf()
		appendList(buf, srv.table().lookup("v1", "pods"), list, 0)
		writeBody(w, r, http.StatusOK, buf.Bytes())
		putBuf(buf)
	})
}

// processCPU is the process's user and system CPU time so far, in ns: the
// server's CPU, its GC and the compressor's goroutine included.
func processCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// countingWriter counts the bytes of a response.
type countingWriter struct {
	h http.Header
	n atomic.Int64
}

func (c *countingWriter) Header() http.Header { return c.h }
func (c *countingWriter) WriteHeader(int)     {}
func (c *countingWriter) Write(b []byte) (int, error) {
	c.n.Add(int64(len(b)))
	return len(b), nil
}

// BenchmarkListGzip is the server's CPU per gzip list of 10 MB (10,000 ~1
// KB pods), with the compressed size (gzip-ratio: compressed/plain): the
// former whole-body path; a streamed list compressed on its own (no
// identical list shares it); and relist storms of 8 identical lists one
// after the other, the first compressing for all (ns/list).
func BenchmarkListGzip(b *testing.B) {
	objs := benchObjects(10000)
	srv := benchServer(b, objs)
	req, _ := http.NewRequest(http.MethodGet, "/api/v1/pods", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	for _, tc := range []struct {
		name  string
		h     http.Handler
		lists int
	}{{"path=whole", wholeListHandler(srv, objs), 1}, {"path=streamed/compression=own", srv.Handler(), 1},
		{"path=streamed/compression=shared-by-8", srv.Handler(), 8}} {
		b.Run("Objects=10000/"+tc.name, func(b *testing.B) {
			b.SetBytes(listBytes(objs) * int64(tc.lists))
			b.ReportAllocs()
			var out int64
			cpu0 := processCPU()
			for b.Loop() {
				srv.gzShares.forget()
				for range tc.lists {
					w := &countingWriter{h: http.Header{}}
					tc.h.ServeHTTP(w, req)
					out += w.n.Load()
				}
			}
			lists := float64(b.N * tc.lists)
			b.ReportMetric(float64(out)/lists/float64(listBytes(objs)), "gzip-ratio")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/lists, "ns/list")
			b.ReportMetric(float64(processCPU()-cpu0)/1e6/lists, "cpu-ms/list")
		})
	}
}

// BenchmarkListFormat is a full list of 10,000 ~1 KB pods as JSON and as
// protobuf: the server's part in process (objects' protobuf already kept
// with them), and over loopback HTTP/1.1 with the client decoding the
// typed PodList as client-go does (the scheme's decoders). list-bytes is
// the body's size.
func BenchmarkListFormat(b *testing.B) {
	objs := benchObjects(10000)
	srv := benchServer(b, objs)
	for _, o := range objs {
		if _, err := o.Encoded(protoEncoder); err != nil {
			b.Fatal(err)
		}
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, format := range []string{"application/json", kubeproto.MediaType} {
		name := map[string]string{"application/json": "json", kubeproto.MediaType: "protobuf"}[format]
		b.Run("Objects=10000/format="+name+"/part=server", func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, "/api/v1/pods", nil)
			req.Header.Set("Accept", format)
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				w := &countingWriter{h: http.Header{}}
				srv.Handler().ServeHTTP(w, req)
				n = w.n.Load()
			}
			b.ReportMetric(float64(n), "list-bytes")
		})
		b.Run("Objects=10000/format="+name+"/part=loopback+decode", func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/pods", nil)
			req.Header.Set("Accept", format)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := ts.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					b.Fatal(err)
				}
				obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, &corev1.PodList{})
				if err != nil || len(obj.(*corev1.PodList).Items) != len(objs) {
					b.Fatalf("decode: %v", err)
				}
			}
		})
	}
}

// BenchmarkProtoEncode is the one-time cost of an object's protobuf
// (its JSON decoded into the typed Pod, then marshalled).
func BenchmarkProtoEncode(b *testing.B) {
	objs := benchObjects(1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := protoEncoder.Encode(objs[i%len(objs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
