package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/gen"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/replay"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/report"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReplay_SmallRun replays two seconds of k8s-robustness traffic at
// 100-200 writes/s through an in-process daemon on a real embedded etcd,
// with watchers (some selecting a node), listers of every mode and
// getters. No event may be lost (B41), none may arrive out of order, every
// write lands, and the JSON, Markdown and PNG outputs are written and
// parse.
func TestReplay_SmallRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	etcd := etcdtest.Start(t)
	cfg := app.DefaultConfig()
	cfg.Listen, cfg.GRPCListen, cfg.DataDir = "127.0.0.1:0", "", ""
	cfg.EtcdServers = []string{etcd.Endpoint}
	cfg.Logger = slog.New(slog.DiscardHandler)
	d, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	if err := d.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := kube.New(kube.Options{Server: "http://" + d.HTTPAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	var buf bytes.Buffer
	if err := gen.Generate(&buf, gen.Config{Profile: "k8s-robustness", Seed: 1, Duration: 2 * time.Second,
		MinRate: 100, MaxRate: 200, Objects: 200}); err != nil {
		t.Fatal(err)
	}
	h, ops, err := trace.ReadAll(&buf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(ctx, replay.Config{
		Etcd: etcd.Client, Server: srv, Header: h, Ops: ops, Speed: 1,
		Watchers: 6, NodeWatchers: 3, Listers: 3, ListInterval: 100 * time.Millisecond, PageSize: 50,
		Getters: 2, GetInterval: 10 * time.Millisecond, PID: os.Getpid(), DrainTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Lost != 0 || res.Disorder != 0 || res.WatchErrors != 0 || res.Received != res.Expected || res.Expected == 0 {
		t.Fatalf("expected %d received %d lost %d disorder %d watch errors %d",
			res.Expected, res.Received, res.Lost, res.Disorder, res.WatchErrors)
	}
	if res.Conflicts != 0 || res.WriteErrs != 0 || res.Writes.Count != int64(len(ops)-h.Prefill) {
		t.Fatalf("writes %d of %d, conflicts %d, errors %d", res.Writes.Count, len(ops)-h.Prefill, res.Conflicts, res.WriteErrs)
	}
	for _, name := range []string{replay.ListName(""), replay.ListName("0"), replay.ListName("paged"), replay.GetName("")} {
		if res.Reads[name].Count == 0 {
			t.Errorf("no %s measured; reads %v, errors %v", name, keys(res.Reads), res.ReadErrors)
		}
	}
	if res.Delivery.Count == 0 || res.CPUSeconds <= 0 || res.RSSMax <= 0 {
		t.Fatalf("delivery %d samples, CPU %v s, RSS %d", res.Delivery.Count, res.CPUSeconds, res.RSSMax)
	}

	paths, err := report.WriteReplay(t.TempDir(), "small", res)
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, paths)
}

func checkFiles(t *testing.T, paths []string) {
	t.Helper()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(p, ".json"):
			var back replay.Result
			if err := json.Unmarshal(b, &back); err != nil || back.Expected == 0 {
				t.Fatalf("%s: %v", p, err)
			}
		case strings.HasSuffix(p, ".md"):
			if !strings.Contains(string(b), "| **events lost** (goal 0) | 0 |") {
				t.Fatalf("%s:\n%s", p, b)
			}
		case strings.HasSuffix(p, ".png"):
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil || img.Bounds().Dx() < 100 {
				t.Fatalf("%s: %v", p, err)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
