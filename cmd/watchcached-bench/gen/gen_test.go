package gen

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

func small(profile string, seed int64) Config {
	return Config{Profile: profile, Seed: seed, Duration: 2 * time.Second, Scale: 0.001, Objects: 50}
}

// TestGenerate_Deterministic: one seed, one byte-identical trace; another
// seed, another trace.
func TestGenerate_Deterministic(t *testing.T) {
	for _, p := range Profiles() {
		t.Run(p, func(t *testing.T) {
			var a, b, c bytes.Buffer
			for _, x := range []struct {
				buf  *bytes.Buffer
				seed int64
			}{{&a, 1}, {&b, 1}, {&c, 2}} {
				if err := Generate(x.buf, small(p, x.seed)); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("same seed, different traces")
			}
			if bytes.Equal(a.Bytes(), c.Bytes()) {
				t.Fatal("different seeds, same trace")
			}
		})
	}
}

// TestGenerate_Robustness checks the profile's stated shape: keys under
// /registry/pods/default/, the op mix near 75/15/10, every op conditional,
// the rate within 200..1000 ops/s, and a consistent key lifecycle.
func TestGenerate_Robustness(t *testing.T) {
	var buf bytes.Buffer
	cfg := Config{Profile: "k8s-robustness", Seed: 3, Duration: 20 * time.Second}
	if err := Generate(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	h, ops := read(t, &buf)
	counts := map[trace.OpType]int{}
	live := map[string]bool{}
	for i, o := range ops {
		if !o.CAS || len(o.Key) < 24 || o.Key[:23] != "/registry/pods/default/" {
			t.Fatalf("op %d: %+v", i, o)
		}
		switch o.Type {
		case trace.Create:
			if live[o.Key] {
				t.Fatalf("op %d creates live %s", i, o.Key)
			}
			live[o.Key] = true
		case trace.Update, trace.Delete:
			if !live[o.Key] {
				t.Fatalf("op %d: %s of absent %s", i, o.Type, o.Key)
			}
			if o.Type == trace.Delete {
				delete(live, o.Key)
			}
		}
		if i >= h.Prefill {
			counts[o.Type]++
		}
		checkBody(t, h, o)
	}
	n := len(ops) - h.Prefill
	rate := float64(n) / 20
	if rate < 200 || rate > 1000 {
		t.Fatalf("rate %.0f ops/s", rate)
	}
	for typ, want := range map[trace.OpType]float64{trace.Update: 0.75, trace.Delete: 0.15, trace.Create: 0.10} {
		if got := float64(counts[typ]) / float64(n); got < want-0.03 || got > want+0.03 {
			t.Errorf("%s: %.3f of ops, want about %.2f", typ, got, want)
		}
	}
}

// TestGenerate_PodsOnNodes: the shape's population, spread over the nodes.
func TestGenerate_PodsOnNodes(t *testing.T) {
	var buf bytes.Buffer
	if err := Generate(&buf, Config{Profile: "pods-on-nodes", Shape: "100x1100", Scale: 0.01, Duration: time.Second, Rate: 50}); err != nil {
		t.Fatal(err)
	}
	h, ops := read(t, &buf)
	if h.Prefill != 100*11 {
		t.Fatalf("prefill %d, want 1100", h.Prefill)
	}
	nodes := map[string]bool{}
	for _, o := range ops[:h.Prefill] {
		nodes[o.Vars["node"]] = true
		checkBody(t, h, o)
	}
	if len(nodes) != 10 {
		t.Fatalf("%d nodes, want 10", len(nodes))
	}
	if n := len(ops) - h.Prefill; n < 45 || n > 50 {
		t.Fatalf("%d churn ops in 1 s at 50/s", n)
	}
}

// TestGenerate_KEP2340: the population and the prescribed empty LIST.
func TestGenerate_KEP2340(t *testing.T) {
	var buf bytes.Buffer
	if err := Generate(&buf, Config{Profile: "kep2340", Scale: 0.001, Duration: time.Second}); err != nil {
		t.Fatal(err)
	}
	h, ops := read(t, &buf)
	if h.Prefill != 300 || len(h.Reads) != 1 || h.Reads[0].PerSecond != 1 {
		t.Fatalf("header %+v", h)
	}
	v, _ := h.Value(ops[0])
	if len(v) < 800 || len(v) > 1200 {
		t.Fatalf("configmap of %d bytes, want about 1 KB", len(v))
	}
}

func read(t *testing.T, buf *bytes.Buffer) (*trace.Header, []*trace.Op) {
	t.Helper()
	h, ops, err := trace.ReadAll(buf)
	if err != nil {
		t.Fatal(err)
	}
	return h, ops
}

func checkBody(t *testing.T, h *trace.Header, o *trace.Op) {
	t.Helper()
	if o.Type == trace.Delete {
		return
	}
	v, err := h.Value(o)
	if err != nil || !json.Valid(v) {
		t.Fatalf("%s: body %s: %v", o.Key, v, err)
	}
}
