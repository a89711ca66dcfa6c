package gen

import (
	"cmp"
	"fmt"
	"math"
	"strconv"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

// robustness is etcd's robustness Kubernetes traffic: one namespace of
// pods, 75% update / 15% delete / 10% create, every write conditional on
// the revision the writer last saw, the rate redrawn every second between
// MinRate and MaxRate. Deletes outnumber creates, so the population
// shrinks; below a quarter of the initial population a delete becomes a
// create (the mix holds until then).
func robustness(cfg Config) (plan, error) {
	lo, hi := cmp.Or(cfg.MinRate, 200), cmp.Or(cfg.MaxRate, 1000)
	if lo <= 0 || hi < lo {
		return plan{}, fmt.Errorf("gen: k8s-robustness rates %g..%g", lo, hi)
	}
	objects := cmp.Or(cfg.Objects, 1000)
	r := newRand(cfg.Seed)
	p := podPlan()
	live := newKeySet()
	next := 0
	create := func(at int64) {
		name := fmt.Sprintf("pod-%06d", next)
		next++
		key := "/registry/pods/default/" + name
		live.add(key)
		p.ops = append(p.ops, trace.Op{At: at, Type: trace.Create, Key: key, Template: "pod", CAS: true,
			Vars: podVars(name, "node-"+strconv.Itoa(int(hash(key)%10)), 0, "Pending")})
	}
	for range objects {
		create(0)
	}
	p.header.Prefill = len(p.ops)
	gen := map[string]int{}
	end := float64(cfg.Duration.Microseconds())
	for sec := 0.0; sec < end; sec += 1e6 {
		c := clock{at: sec, rate: lo + r.Float64()*(hi-lo)}
		for at := c.next(); float64(at) < math.Min(sec+1e6, end); at = c.next() {
			x := r.IntN(100)
			switch {
			case x < 10 || live.len() == 0:
				create(at)
			case x < 25 && live.len() > max(1, objects/4):
				k := live.pick(r)
				live.remove(k)
				p.ops = append(p.ops, trace.Op{At: at, Type: trace.Delete, Key: k, CAS: true})
			default:
				k := live.pick(r)
				gen[k]++
				_, name := trace.SplitKey(k)
				p.ops = append(p.ops, trace.Op{At: at, Type: trace.Update, Key: k, Template: "pod", CAS: true,
					Vars: podVars(name, "node-"+strconv.Itoa(int(hash(k)%10)), gen[k], "Running")})
			}
		}
	}
	return p, nil
}

// kep2340 is KEP-2340's consistent-read benchmark: a large population of
// ~1 KB configmaps and one LIST per second with a label selector that
// matches nothing, over a light churn (Rate updates/s, default 10).
func kep2340(cfg Config) (plan, error) {
	n := max(1, int(float64(cmp.Or(cfg.Objects, 300000))*cfg.Scale))
	if n < 1 {
		return plan{}, fmt.Errorf("gen: kep2340 scales to %d configmaps", n)
	}
	rate := cmp.Or(cfg.Rate, 10)
	r := newRand(cfg.Seed)
	p := plan{header: trace.Header{
		Resources: []*api.Resource{{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}},
		Templates: map[string]string{"cm": configMapTemplate},
		Reads:     []trace.Read{{Verb: "list", PerSecond: 1, LabelSelector: "kep2340=matches-nothing"}},
	}}
	keys := make([]string, n)
	for i := range n {
		ns, name := fmt.Sprintf("ns-%03d", i%100), fmt.Sprintf("cm-%07d", i)
		keys[i] = "/registry/configmaps/" + ns + "/" + name
		p.ops = append(p.ops, trace.Op{Type: trace.Create, Key: keys[i], Template: "cm",
			Vars: map[string]string{"uid": "u-" + name, "gen": "0"}})
	}
	p.header.Prefill = n
	c := clock{rate: rate}
	gen := make([]int, n)
	for at := c.next(); at < cfg.Duration.Microseconds(); at = c.next() {
		i := r.IntN(n)
		gen[i]++
		_, name := trace.SplitKey(keys[i])
		p.ops = append(p.ops, trace.Op{At: at, Type: trace.Update, Key: keys[i], Template: "cm",
			Vars: map[string]string{"uid": "u-" + name, "gen": strconv.Itoa(gen[i])}})
	}
	return p, nil
}

// podsOnNodes is upstream's pods-on-nodes shape: Namespaces × Pods pods
// round-robin over Nodes nodes, then churn at Rate (default 100/s): 60%
// updates (status, same node), 20% deletes, 20% re-creates of a deleted
// pod on a random node.
func podsOnNodes(cfg Config) (plan, error) {
	ns, pods, nodes := cfg.Namespaces, cfg.Pods, cfg.Nodes
	switch cfg.Shape {
	case "", "50x3000":
		ns, pods, nodes = cmp.Or(ns, 50), cmp.Or(pods, 3000), cmp.Or(nodes, 5000)
	case "100x1100":
		ns, pods, nodes = cmp.Or(ns, 100), cmp.Or(pods, 1100), cmp.Or(nodes, 1000)
	default:
		return plan{}, fmt.Errorf("gen: unknown pods-on-nodes shape %q (50x3000 or 100x1100)", cfg.Shape)
	}
	pods = max(1, int(float64(pods)*cfg.Scale))
	nodes = max(1, int(float64(nodes)*cfg.Scale))
	rate := cmp.Or(cfg.Rate, 100)
	r := newRand(cfg.Seed)
	p := podPlan()
	live, dead := newKeySet(), newKeySet()
	node := map[string]string{}
	gen := map[string]int{}
	i := 0
	for n := range ns {
		for m := range pods {
			name := fmt.Sprintf("pod-%05d", m)
			key := fmt.Sprintf("/registry/pods/ns-%03d/%s", n, name)
			node[key] = "node-" + strconv.Itoa(i%nodes)
			i++
			live.add(key)
			p.ops = append(p.ops, trace.Op{Type: trace.Create, Key: key, Template: "pod", Vars: podVars(name, node[key], 0, "Running")})
		}
	}
	p.header.Prefill = len(p.ops)
	c := clock{rate: rate}
	for at := c.next(); at < cfg.Duration.Microseconds(); at = c.next() {
		x := r.IntN(100)
		switch {
		case x < 20 && dead.len() > 0:
			k := dead.pick(r)
			dead.remove(k)
			live.add(k)
			node[k] = "node-" + strconv.Itoa(r.IntN(nodes))
			gen[k]++
			_, name := trace.SplitKey(k)
			p.ops = append(p.ops, trace.Op{At: at, Type: trace.Create, Key: k, Template: "pod", Vars: podVars(name, node[k], gen[k], "Pending")})
		case x < 40 && live.len() > 1:
			k := live.pick(r)
			live.remove(k)
			dead.add(k)
			p.ops = append(p.ops, trace.Op{At: at, Type: trace.Delete, Key: k})
		default:
			k := live.pick(r)
			gen[k]++
			_, name := trace.SplitKey(k)
			p.ops = append(p.ops, trace.Op{At: at, Type: trace.Update, Key: k, Template: "pod", Vars: podVars(name, node[k], gen[k], "Running")})
		}
	}
	return p, nil
}

func podVars(name, node string, gen int, phase string) map[string]string {
	return map[string]string{"uid": "u-" + name, "node": node, "gen": strconv.Itoa(gen), "phase": phase}
}

func (s *keySet) len() int { return len(s.keys) }

// hash is FNV-1a, a stable key → node assignment.
func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}
