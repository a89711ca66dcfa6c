package gen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

// Config selects a profile and its parameters. Zero values take the
// profile's defaults.
type Config struct {
	// Profile is one of Profiles().
	Profile string
	// Seed seeds the generator.
	Seed int64
	// Scale multiplies the profile's object counts (kep2340: configmaps;
	// pods-on-nodes: pods per namespace and nodes); default 1.
	Scale float64
	// Duration is the length of the churn after the initial population;
	// default 10 s.
	Duration time.Duration
	// Rate is the churn in writes per second (pods-on-nodes, kep2340;
	// k8s-robustness draws its own between MinRate and MaxRate).
	Rate float64
	// MinRate and MaxRate bound k8s-robustness's rate; default 200, 1000.
	MinRate, MaxRate float64
	// Namespaces, Pods (per namespace) and Nodes shape pods-on-nodes;
	// default 50, 3000, 5000. Objects is the initial population of
	// k8s-robustness (default 1000) and kep2340 (default 300,000).
	Namespaces, Pods, Nodes, Objects int
	// Shape names an upstream pods-on-nodes shape: "50x3000" or "100x1100"
	// (sets Namespaces, Pods and Nodes unless they are given).
	Shape string
}

// Profiles lists the profile names.
func Profiles() []string { return []string{"k8s-robustness", "kep2340", "pods-on-nodes"} }

// Generate writes the trace of cfg to w.
func Generate(w io.Writer, cfg Config) error {
	if cfg.Scale == 0 {
		cfg.Scale = 1
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Scale < 0 || cfg.Duration < 0 || cfg.Rate < 0 {
		return fmt.Errorf("gen: scale, duration and rate must not be negative")
	}
	var p plan
	var err error
	switch cfg.Profile {
	case "k8s-robustness":
		p, err = robustness(cfg)
	case "kep2340":
		p, err = kep2340(cfg)
	case "pods-on-nodes":
		p, err = podsOnNodes(cfg)
	default:
		return fmt.Errorf("gen: unknown profile %q (want one of %s)", cfg.Profile, strings.Join(Profiles(), ", "))
	}
	if err != nil {
		return err
	}
	p.header.Format = trace.Format
	p.header.Profile = cfg.Profile
	p.header.Seed = cfg.Seed
	p.header.Prefix = "/registry"
	p.header.Ops = len(p.ops)
	p.header.Duration = cfg.Duration.Microseconds()
	p.header.Params = cfg.params()
	tw, err := trace.NewWriter(w, p.header)
	if err != nil {
		return err
	}
	for i := range p.ops {
		if err := tw.Write(&p.ops[i]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// plan is a generated trace before it is written.
type plan struct {
	header trace.Header
	ops    []trace.Op
}

func (c Config) params() map[string]string {
	m := map[string]string{
		"scale":    strconv.FormatFloat(c.Scale, 'g', -1, 64),
		"duration": c.Duration.String(),
	}
	add := func(k string, v float64) {
		if v != 0 {
			m[k] = strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	add("rate", c.Rate)
	add("minRate", c.MinRate)
	add("maxRate", c.MaxRate)
	add("namespaces", float64(c.Namespaces))
	add("pods", float64(c.Pods))
	add("nodes", float64(c.Nodes))
	add("objects", float64(c.Objects))
	if c.Shape != "" {
		m["shape"] = c.Shape
	}
	return m
}

func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}

// podResource is core/v1 pods selectable by spec.nodeName, as the daemon
// serves it by default.
func podResource() *api.Resource {
	return &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
		SelectableFields: []string{"spec.nodeName"}, IndexedFields: []string{"spec.nodeName"}}
}

// podPlan is an empty plan of pods from podTemplate.
func podPlan() plan {
	return plan{header: trace.Header{
		Resources: []*api.Resource{podResource()},
		Templates: map[string]string{"pod": podTemplate},
	}}
}

// padding makes objects about 1 KB, like the small objects the profiles
// describe.
var padding = strings.Repeat("x", 640)

// podTemplate is a ~1 KB pod; $gen changes on every update.
var podTemplate = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$name","namespace":"$namespace","uid":"$uid","labels":{"app":"bench","gen":"$gen"},"annotations":{"bench/pad":"` + padding +
	`"}},"spec":{"nodeName":"$node","containers":[{"name":"c","image":"registry.example/app:1.0"}]},"status":{"phase":"$phase"}}`

// configMapTemplate is a ~1 KB configmap.
var configMapTemplate = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"$name","namespace":"$namespace","uid":"$uid","labels":{"app":"bench"}},"data":{"gen":"$gen","pad":"` + padding + `"}}`

// clock spaces ops at a rate: next returns the offset of the next op.
type clock struct {
	at   float64 // µs
	rate float64 // ops/s
}

func (c *clock) next() int64 {
	c.at += 1e6 / c.rate
	return int64(c.at)
}

// keySet is the set of live keys in creation order, with O(1) random
// pick and removal (order is deterministic: no map iteration).
type keySet struct {
	keys []string
	pos  map[string]int
}

func newKeySet() *keySet { return &keySet{pos: map[string]int{}} }

func (s *keySet) add(k string) { s.pos[k] = len(s.keys); s.keys = append(s.keys, k) }

func (s *keySet) pick(r *rand.Rand) string { return s.keys[r.IntN(len(s.keys))] }

func (s *keySet) remove(k string) {
	i := s.pos[k]
	last := s.keys[len(s.keys)-1]
	s.keys[i], s.pos[last] = last, i
	s.keys = s.keys[:len(s.keys)-1]
	delete(s.pos, k)
}
