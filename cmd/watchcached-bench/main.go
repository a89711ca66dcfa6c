// Command watchcached-bench produces watch-cache benchmark numbers
// reproducibly: it generates and records traces, replays them against any
// server that speaks the Kubernetes REST API while a population of
// clients reads, compares the cache with direct etcd reads, and writes
// the report (JSON, Markdown, PNG). See docs/BENCHMARKS.md.
//
//	watchcached-bench generate --profile k8s-robustness --seed 1 > t.jsonl
//	watchcached-bench record   --etcd-servers URL --resource pods --from-rev 1 --duration 10s > t.jsonl
//	watchcached-bench replay   --trace t.jsonl [--server URL | in-process] --watchers 100 --out dir
//	watchcached-bench compare  --objects 10000 [--server URL] --out dir
//	watchcached-bench report   --out docs/bench
//	watchcached-bench idle-watchers --server URL --pid PID --watchers 2000
//	watchcached-bench object-memory --daemon /tmp/wc --objects 100000 --lists 20
//	watchcached-bench upstream --objects 10000 --get-clients 10 --list-clients 10 --duration 30s --out dir
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmds := map[string]func(context.Context, []string) error{
		"generate": cmdGenerate, "record": cmdRecord, "replay": cmdReplay, "compare": cmdCompare, "report": cmdReport, "idle-watchers": cmdIdle, "object-memory": cmdObjectMemory, "upstream": cmdUpstream,
	}
	f, ok := cmds[os.Args[1]]
	if !ok {
		usage()
		os.Exit(2)
	}
	if err := f(ctx, os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "watchcached-bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: watchcached-bench generate|record|replay|compare|report|idle-watchers|object-memory|upstream [flags] (--help per command)")
}
