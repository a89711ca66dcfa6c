package cacher

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/snapshot"
	"github.com/watchcached/watchcached/internal/testkit"
)

// The whole resource's key range, as etcd is asked for it.
const podsRange = "[/registry/pods/, /registry/pods0)"

// has reports whether a line logged since the last take contains s.
func (b *logBuffer) has(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

// peek returns the lines logged since the last take, keeping them.
func (b *logBuffer) peek() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSuffix(b.buf.String(), "\n"), "\n")
}

// coldSnapshot fills etcd with pods ns/<name> for names, lets a cold
// cache write its shutdown snapshot to a file of its own, and returns the
// file, the cache's revision and its objects in key order.
func (e *env) coldSnapshot(names ...string) (*snapshot.File, uint64, []*api.Object) {
	e.t.Helper()
	for _, n := range names {
		e.create("ns", n, "n1")
	}
	f := e.snapFile(e.t.TempDir())
	c := e.restart(f, &logBuffer{})
	c.Close()
	objs, err := snapshotObjects(c, c.RV())
	if err != nil {
		e.t.Fatal(err)
	}
	return f, c.RV(), objs
}

// saveAs replaces f's snapshot with objs (in key order) at rv: a snapshot
// that loads but does not show etcd's state at rv.
func saveAs(t testing.TB, f *snapshot.File, rv uint64, objs []*api.Object) {
	t.Helper()
	if err := f.Save(rv, len(objs), slices.Values(objs)); err != nil {
		t.Fatal(err)
	}
}

// without returns objs without the one named name.
func without(objs []*api.Object, name string) []*api.Object {
	return slices.DeleteFunc(slices.Clone(objs), func(o *api.Object) bool { return o.Name == name })
}

// replaced returns objs with the one of o's key replaced by o, or o
// inserted in key order.
func replaced(objs []*api.Object, o *api.Object) []*api.Object {
	out := without(objs, o.Name)
	i, _ := slices.BinarySearchFunc(out, o.Key, func(x *api.Object, k string) int { return strings.Compare(x.Key, k) })
	return slices.Insert(out, i, o)
}

// warmChecked restarts warm from f (ranges of per keys; 0: the default),
// waits for the check after the warm start and returns the cache with the
// check's log lines: passed, or failed.
func (e *env) warmChecked(f *snapshot.File, logs *logBuffer, per int) (*Cacher, []string) {
	e.t.Helper()
	c := e.restartWith(f, logs, func(cfg *Config) { cfg.WarmCheckRangeKeys = per })
	waitWarmCheck(e.t, c)
	lines := logs.peek()
	return c, append(logMsg(lines, "consistency check after warm start passed", ""),
		logMsg(lines, "consistency check after warm start failed; relisting", "")...)
}

// relisted waits until c relisted after a failed check and checks that it
// then equals etcd.
func (e *env) relisted(c *Cacher, logs *logBuffer) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !logs.has(`msg="cache listed"`) {
		if time.Now().After(deadline) {
			e.t.Fatal("the cache did not relist after a failed check")
		}
		<-time.After(5 * time.Millisecond) // polling an outcome, not timing a behaviour
	}
	if n := c.Lists(); n != 1 {
		e.t.Fatalf("lists %d, want 1", n)
	}
	e.equalAt(c, c.RV())
}

// failedLine is the log line of a failed check at rv naming diffs.
func failedLine(rv uint64, diffs string) string {
	return fmt.Sprintf(`level=ERROR msg="consistency check after warm start failed; relisting" resource=pods `+
		`err="cache differs from etcd at revision %d: [%s]"`, rv, diffs)
}

// passedLine is the log line of a passed check at rv.
func passedLine(rv uint64, ranges, listed int) string {
	return fmt.Sprintf(`level=INFO msg="consistency check after warm start passed" resource=pods rv=%d ranges=%d listed=%d`,
		rv, ranges, listed)
}

func podNames(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("p%02d", i))
	}
	return out
}

// B237: a warm start whose snapshot equals etcd is checked with one etcd
// read, a transaction asking for every range's key count and newest mod
// revision; no key is listed.
func TestWarmCheck_B237_ConsistentStartOneRead(t *testing.T) {
	e := newEnv(t, false, nil)
	f, rv, _ := e.coldSnapshot(podNames(12)...)
	reads := e.recordReads()
	c, lines := e.warmChecked(f, &logBuffer{}, 4)
	testkit.Equal(t, "log", lines, []string{passedLine(rv, 3, 0)})
	wantReads(t, reads.take(), []string{"txn of 3 ranges"}, nil)
	if c.Lists() != 0 {
		t.Fatalf("lists %d after a consistent warm start", c.Lists())
	}
	e.equalAt(c, rv)
}

// B237: a difference in the middle range of three lists that range only,
// keys first and then values, names it exactly, and relists.
func TestWarmCheck_B237_OnlyDifferingRangeListed(t *testing.T) {
	e := newEnv(t, false, nil)
	f, rv, objs := e.coldSnapshot(podNames(12)...)
	saveAs(t, f, rv, without(objs, "p05")) // ranges [prefix, p04) [p04, p09) [p09, end)
	reads := e.recordReads()
	logs := &logBuffer{}
	c, lines := e.warmChecked(f, logs, 4)
	testkit.Equal(t, "log", lines, []string{failedLine(rv, "missing in cache: /registry/pods/ns/p05")})
	wantReads(t, reads.take(), []string{"txn of 3 ranges",
		"keys [/registry/pods/ns/p04, /registry/pods/ns/p09)", "values [/registry/pods/ns/p04, /registry/pods/ns/p09)"},
		[]string{"values " + podsRange})
	e.relisted(c, logs)
	if n := testutil.ToFloat64(c.m.inconsistencies); n != 1 {
		t.Fatalf("inconsistencies %v, want 1", n)
	}
}

// B238: a lost delete (a key the snapshot holds and etcd no longer does)
// is caught by the key count.
func TestWarmCheck_B238_LostDelete(t *testing.T) {
	e := newEnv(t, false, nil)
	gone := e.create("ns", "p2", "n1")
	e.del("ns", "p2")
	f, rv, objs := e.coldSnapshot("p0", "p1", "p3")
	saveAs(t, f, rv, replaced(objs, gone))
	logs := &logBuffer{}
	c, lines := e.warmChecked(f, logs, 0)
	testkit.Equal(t, "log", lines, []string{failedLine(rv, "not in etcd: /registry/pods/ns/p2")})
	e.relisted(c, logs)
}

// B238: a lost update that is its range's newest write is caught by the
// range's newest mod revision.
func TestWarmCheck_B238_LostNewestUpdate(t *testing.T) {
	e := newEnv(t, false, nil)
	old, updated := e.fourPodsP1Updated(t)
	f, rv, objs := e.coldSnapshot()
	saveAs(t, f, rv, replaced(objs, old))
	logs := &logBuffer{}
	c, lines := e.warmChecked(f, logs, 0)
	testkit.Equal(t, "log", lines, []string{failedLine(rv,
		fmt.Sprintf("/registry/pods/ns/p1: cache RV %d, etcd RV %d", old.RV, updated.RV))})
	e.relisted(c, logs)
}

// B238: a value in etcd that does not decode makes its range's key count
// differ, but the range's decoded objects equal the snapshot's: the check
// passes after listing that range, and the cache does not relist.
func TestWarmCheck_B238_UndecodableValueNoRelist(t *testing.T) {
	e := newEnv(t, false, nil)
	e.put("/registry/pods/ns/q-corrupt", "not json")
	f, rv, _ := e.coldSnapshot("p0", "p1", "p2")
	reads := e.recordReads()
	c, lines := e.warmChecked(f, &logBuffer{}, 0)
	testkit.Equal(t, "log", lines, []string{passedLine(rv, 1, 1)})
	wantReads(t, reads.take(), []string{"txn of 1 ranges", "keys " + podsRange, "values " + podsRange}, nil)
	if c.Lists() != 0 {
		t.Fatalf("lists %d: an undecodable value made the cache relist", c.Lists())
	}
}

// B239: what the check after a warm start misses, by design: a lost
// update that is not its range's newest write leaves the range's count
// and newest mod revision equal. The periodic check, which compares every
// key, names it.
func TestWarmCheck_B239_OlderLostUpdateLeftToPeriodicCheck(t *testing.T) {
	e := newEnv(t, false, nil)
	old, updated := e.fourPodsP1Updated(t)
	e.update("ns", "p3", "n2") // the range's newest write, which the snapshot holds
	f, rv, objs := e.coldSnapshot()
	saveAs(t, f, rv, replaced(objs, old))
	c, lines := e.warmChecked(f, &logBuffer{}, 0)
	testkit.Equal(t, "log", lines, []string{passedLine(rv, 1, 0)})
	want := fmt.Sprintf("cache differs from etcd at revision %d: [/registry/pods/ns/p1: cache RV %d, etcd RV %d]", rv, old.RV, updated.RV)
	if err := c.checkConsistency(context.Background()); err == nil || err.Error() != want {
		t.Fatalf("periodic check: %v, want %s", err, want)
	}
}

// B237: a check that gets no answer from etcd (here: its context ends
// before the request is sent) is skipped with a warning, and nothing
// relists.
func TestWarmCheck_B237_SkippedWithoutAnswer(t *testing.T) {
	e := newEnv(t, false, nil)
	f, rv, _ := e.coldSnapshot("p0", "p1")
	logs := &logBuffer{}
	c, _ := e.warmChecked(f, logs, 0)
	logs.take()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.checkAfterWarmStart(ctx); err != nil {
		t.Fatalf("check without an answer: %v, want nil (skipped)", err)
	}
	testkit.Equal(t, "log", logMsg(logs.take(), "consistency check after warm start skipped", ""),
		[]string{fmt.Sprintf(`level=WARN msg="consistency check after warm start skipped" resource=pods rv=%d `+
			`err="etcd request canceled: context canceled"`, rv)})
	if n := testutil.ToFloat64(c.m.inconsistencies); n != 0 {
		t.Fatalf("inconsistencies %v, want 0", n)
	}
}

// fourPodsP1Updated creates pods p0-p3 in ns and updates p1; it returns
// p1 before and after the update.
func (e *env) fourPodsP1Updated(t *testing.T) (old, updated *api.Object) {
	t.Helper()
	for _, n := range []string{"p0", "p1", "p2", "p3"} {
		e.create("ns", n, "n1")
	}
	old, err := e.store.Get(context.Background(), "ns", "p1", api.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return old, e.update("ns", "p1", "n2")
}
