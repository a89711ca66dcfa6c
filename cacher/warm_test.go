package cacher

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"iter"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/snapshot"
	"github.com/watchcached/watchcached/internal/testkit"
)

// killable is a WarmStore whose Saves are dropped once killed: a process
// killed with SIGKILL writes no shutdown snapshot, so the file keeps the
// last periodic one.
type killable struct {
	*snapshot.File
	killed atomic.Bool
	saves  atomic.Int64
}

func (k *killable) Save(rv uint64, n int, objs iter.Seq[*api.Object]) error {
	if k.killed.Load() {
		return nil
	}
	k.saves.Add(1)
	return k.File.Save(rv, n, objs)
}

// snapFile is the pods' snapshot file in dir, for e's etcd.
func (e *env) snapFile(dir string) *snapshot.File {
	e.t.Helper()
	resp, err := e.etcd.Client.Get(context.Background(), "/registry/pods/", clientv3.WithCountOnly())
	if err != nil {
		e.t.Fatal(err)
	}
	return &snapshot.File{
		Path: filepath.Join(dir, snapshot.FileName(e.store.Resource())), Resource: e.store.Resource(),
		KeyPrefix: e.store.KeyPrefix(), ClusterID: resp.Header.ClusterId, Decode: e.store.Decode,
	}
}

// restart builds and starts another cacher on e's store with warm, which
// logs to logs, and waits until it is ready.
func (e *env) restart(warm WarmStore, logs *logBuffer) *Cacher {
	e.t.Helper()
	return e.restartWith(warm, logs, nil)
}

// restartWith is restart with the configuration adjusted by mut.
func (e *env) restartWith(warm WarmStore, logs *logBuffer, mut func(*Config)) *Cacher {
	e.t.Helper()
	cfg := Config{Source: e.store, FreshnessTimeout: 2 * time.Second, ProgressInterval: 100 * time.Millisecond,
		ConsistencyCheckInterval: -1, WarmSaveInterval: -1, Warm: warm, Logger: logs.logger()}
	if mut != nil {
		mut(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(c.Close)
	c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a cold 100k list on a loaded machine
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		e.t.Fatalf("cache not ready: %v", err)
	}
	return c
}

// objectView is every field of an api.Object a client or the cache
// relies on, for exact comparison.
type objectView struct {
	Key, Namespace, Name, UID string
	Labels, Fields            map[string]string
	RV                        uint64
	Raw                       string
	RVAt                      int
}

func views(objs []*api.Object) []objectView {
	out := make([]objectView, 0, len(objs))
	for _, o := range objs {
		out = append(out, objectView{o.Key, o.Namespace, o.Name, o.UID, o.Labels, o.Fields, o.RV, string(o.Raw), o.RVAt})
	}
	return out
}

func snapshotObjects(c *Cacher, rv uint64) ([]*api.Object, error) {
	snap, err := c.wc.Snapshot(rv)
	if err != nil {
		return nil, err
	}
	var objs []*api.Object
	snap.Ascend(c.prefix, "", func(o *api.Object) bool { objs = append(objs, o); return true })
	return objs, nil
}

// equalAt checks that c holds exactly etcd's objects at rv.
func (e *env) equalAt(c *Cacher, rv uint64) {
	e.t.Helper()
	got, err := snapshotObjects(c, rv)
	if err != nil {
		e.t.Fatalf("cache has no state at %d: %v", rv, err)
	}
	want, err := e.store.List(context.Background(), api.ListOptions{ResourceVersion: api.FormatRV(rv), ResourceVersionMatch: api.MatchExact})
	if err != nil {
		e.t.Fatal(err)
	}
	if g, w := views(got), views(want.Items); !reflect.DeepEqual(g, w) {
		e.t.Fatalf("cache at %d differs from etcd:\n got %d objects %v\nwant %d objects %v", rv, len(g), testkit.Objs(got), len(w), testkit.Objs(want.Items))
	}
}

// waitWarmCheck waits for the consistency check after a warm start.
func waitWarmCheck(t testing.TB, c *Cacher) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.WarmChecks() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no consistency check after the warm start")
		}
		select {
		case <-c.wc.Changed():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// logMsg returns the lines of logs whose msg is msg, without the attrs
// after the first that is named in drop (a duration, say).
func logMsg(lines []string, msg string, drop string) []string {
	var out []string
	for _, l := range lines {
		if !strings.Contains(l, `msg="`+msg+`"`) {
			continue
		}
		if i := strings.Index(l, " "+drop+"="); drop != "" && i >= 0 {
			l = l[:i]
		}
		out = append(out, l)
	}
	return out
}

// B230: a cache killed during writes (no shutdown snapshot; writes after
// its last periodic snapshot and while it is down) restarts from that
// snapshot without listing, holds exactly etcd's objects at the
// snapshot's revision, catches up by watching, passes the consistency
// check run right after the warm start, and equals etcd.
func TestWarmRestart_B230_KillDuringWrites(t *testing.T) {
	e := newEnv(t, false, nil)
	dir := t.TempDir()
	for i := range 30 {
		e.create(fmt.Sprintf("ns%d", i%3), fmt.Sprintf("p%02d", i), "n1")
	}
	kw := &killable{File: e.snapFile(dir)}
	logs1 := &logBuffer{}
	c1 := e.restart(kw, logs1)
	testkit.Equal(t, "first start", logMsg(logs1.take(), "cache starting cold", ""),
		[]string{fmt.Sprintf(`level=INFO msg="cache starting cold" resource=pods reason="no snapshot at %s"`, kw.Path)})
	e.update("ns0", "p00", "n2")
	e.del("ns1", "p01")
	last := e.create("ns2", "late", "n3")
	if err := c1.waitRV(context.Background(), last.RV); err != nil {
		t.Fatal(err)
	}
	c1.saveSnapshot() // the last periodic snapshot
	saved := c1.RV()
	if kw.saves.Load() != 1 {
		t.Fatalf("saves %d, want 1", kw.saves.Load())
	}

	// SIGKILL during writes: a writer runs while the cache dies.
	kw.killed.Store(true)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20 {
			e.create("ns0", fmt.Sprintf("w%02d", i), "n1")
		}
	})
	c1.Close()
	wg.Wait()
	e.update("ns0", "p03", "n9") // while down
	e.del("ns2", "p02")

	logs2 := &logBuffer{}
	c2 := e.restart(kw.File, logs2)
	if n := c2.Lists(); n != 0 {
		t.Fatalf("warm restart listed %d times, want 0", n)
	}
	e.equalAt(c2, saved)
	waitWarmCheck(t, c2)
	cur, err := e.store.CurrentRevision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.waitRV(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	e.equalAt(c2, cur)
	if n := c2.Lists(); n != 0 {
		t.Fatalf("lists after the consistency check %d, want 0", n)
	}
	lines := logs2.take()
	testkit.Equal(t, "warm start log", logMsg(lines, "cache started warm", "took"),
		[]string{fmt.Sprintf(`level=INFO msg="cache started warm" resource=pods objects=30 rv=%d`, saved)})
	testkit.Equal(t, "no cold start", logMsg(lines, "cache starting cold", ""), nil)
	testkit.Equal(t, "no failed check", logMsg(lines, "consistency check after warm start failed; relisting", ""), nil)
}

// B230: Close saves the store at its revision, and the next start is
// warm from exactly that state.
func TestWarmRestart_B230_ShutdownSnapshot(t *testing.T) {
	e := newEnv(t, false, nil)
	f := e.snapFile(t.TempDir())
	for i := range 5 {
		e.create("ns", fmt.Sprintf("p%d", i), "n1")
	}
	c1 := e.restart(f, &logBuffer{})
	last := e.update("ns", "p1", "n2")
	if err := c1.waitRV(context.Background(), last.RV); err != nil {
		t.Fatal(err)
	}
	c1.Close()
	objs, rv, err := f.Load(context.Background())
	if err != nil || rv != last.RV || len(objs) != 5 {
		t.Fatalf("shutdown snapshot: %d objects at %d, %v; want 5 at %d", len(objs), rv, err, last.RV)
	}
	c2 := e.restart(f, &logBuffer{})
	if c2.Lists() != 0 || c2.RV() < last.RV {
		t.Fatalf("lists %d rv %d, want a warm start at %d", c2.Lists(), c2.RV(), last.RV)
	}
	e.equalAt(c2, last.RV)
}

// B231: a snapshot etcd compacted past, a truncated file, a corrupt one,
// one of another format version, of another resource configuration or
// of another etcd cluster: each start lists instead, says why in one log
// line, and holds etcd's state.
func TestWarmRestart_B231_ColdFallbacks(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(e *env, f *snapshot.File, rv uint64) (use WarmStore, reason string)
	}{
		{"compacted", func(e *env, f *snapshot.File, rv uint64) (WarmStore, string) {
			last := e.create("ns", "after", "n1")
			if _, err := e.etcd.Client.Compact(context.Background(), int64(last.RV)); err != nil {
				e.t.Fatal(err)
			}
			return f, fmt.Sprintf("snapshot at revision %d was compacted in etcd", rv)
		}},
		{"truncated", func(e *env, f *snapshot.File, rv uint64) (WarmStore, string) {
			size := rewrite(e.t, f.Path, func(b []byte) []byte { return b[:len(b)-100] })
			return f, fmt.Sprintf("%s: snapshot truncated: %d bytes, no end marker", f.Path, size)
		}},
		{"corrupt", func(e *env, f *snapshot.File, rv uint64) (WarmStore, string) {
			var got, says uint32
			rewrite(e.t, f.Path, func(b []byte) []byte {
				b[len(b)/2] ^= 0x20
				body := b[:len(b)-12]
				got, says = crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)), binary.LittleEndian.Uint32(b[len(b)-12:])
				return b
			})
			return f, fmt.Sprintf("%s: snapshot corrupt: checksum %08x, file says %08x", f.Path, got, says)
		}},
		{"other version", func(e *env, f *snapshot.File, rv uint64) (WarmStore, string) {
			rewrite(e.t, f.Path, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:12], 2); return b })
			return f, fmt.Sprintf("%s: snapshot of another format version: version 2, this build reads 1", f.Path)
		}},
		{"other configuration", func(e *env, f *snapshot.File, rv uint64) (WarmStore, string) {
			res := *f.Resource
			res.SelectableFields = append([]string{"status.phase"}, res.SelectableFields...)
			g := *f
			g.Resource = &res
			was, now := snapshot.Fingerprint(f.Resource, f.KeyPrefix), snapshot.Fingerprint(&res, f.KeyPrefix)
			return &g, fmt.Sprintf("%s: snapshot of another resource configuration: written for v1 pods under /registry/pods/ (fingerprint %.12s, running %.12s)", f.Path, was, now)
		}},
		{"other cluster", func(e *env, f *snapshot.File, rv uint64) (WarmStore, string) {
			g := *f
			g.ClusterID = f.ClusterID + 1
			return &g, fmt.Sprintf("%s: snapshot of another etcd cluster: cluster %x, connected to %x", f.Path, f.ClusterID, g.ClusterID)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false, nil)
			f := e.snapFile(t.TempDir())
			for i := range 5 {
				e.create("ns", fmt.Sprintf("p%d", i), "n1")
			}
			c1 := e.restart(f, &logBuffer{})
			rv := c1.RV()
			c1.Close()
			use, reason := tc.break_(e, f, rv)
			logs := &logBuffer{}
			c2 := e.restart(use, logs)
			testkit.Equal(t, "log", logMsg(logs.take(), "cache starting cold", ""),
				[]string{fmt.Sprintf(`level=INFO msg="cache starting cold" resource=pods reason=%q`, reason)})
			if n := c2.Lists(); n != 1 {
				t.Fatalf("lists %d, want 1", n)
			}
			e.equalAt(c2, c2.RV())
		})
	}
}

// rewrite replaces the file's bytes with edit's result and returns its new size.
func rewrite(t testing.TB, path string, edit func([]byte) []byte) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = edit(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// B232: a snapshot that loads but does not show etcd's state at its
// revision (here: one object left out) is caught by the consistency check
// run right after the warm start, which relists.
func TestWarmRestart_B232_CheckAfterWarmStartRelists(t *testing.T) {
	e := newEnv(t, false, nil)
	f := e.snapFile(t.TempDir())
	for i := range 4 {
		e.create("ns", fmt.Sprintf("p%d", i), "n1")
	}
	c1 := e.restart(f, &logBuffer{})
	c1.Close() // its shutdown snapshot is replaced below
	rv := c1.RV()
	snap := c1.wc.Latest()
	err := f.Save(rv, snap.Len()-1, func(yield func(*api.Object) bool) {
		snap.Ascend(c1.prefix, "", func(o *api.Object) bool { return o.Name == "p2" || yield(o) })
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	c2 := e.restart(f, logs)
	waitWarmCheck(t, c2)
	deadline := time.Now().Add(10 * time.Second)
	for c2.Lists() == 0 && time.Now().Before(deadline) {
		<-time.After(5 * time.Millisecond)
	}
	if err := c2.WaitReady(context.Background()); err != nil || c2.Lists() != 1 {
		t.Fatalf("lists %d (%v), want 1 relist", c2.Lists(), err)
	}
	testkit.Equal(t, "log", logMsg(logs.take(), "consistency check after warm start failed; relisting", ""),
		[]string{fmt.Sprintf(`level=ERROR msg="consistency check after warm start failed; relisting" resource=pods err="cache differs from etcd at revision %d: [missing in cache: /registry/pods/ns/p2]"`, rv)})
	e.equalAt(c2, c2.RV())
}
