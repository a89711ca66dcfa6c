package cacher

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRestart is a cache's restart to ready with 100,000 pods of
// ~1 KB, warm (from a snapshot written by a cache over the same etcd, with
// writes after it) and cold (the full list), side by side. Besides time
// per restart it reports the process's CPU time (the cache's and the
// in-process etcd's) and the bytes of etcd range responses until ready
// and until the consistency check after a warm start finished (range and
// transaction answers, etcdReads), and the process CPU of that check. A
// warm start whose check fails fails the benchmark. Opt-in:
//
//	go test -run '^$' -bench Restart -benchtime 5x ./cacher/
func BenchmarkRestart(b *testing.B) {
	e := newEnv(b, false, nil)
	fill(b, e.etcd.Client, 100000)
	counter := e.recordReads()
	file := e.snapFile(b.TempDir())
	first := e.restart(file, &logBuffer{}) // cold; its Close writes the snapshot
	first.Close()
	for i := range 100 { // writes after the snapshot, caught up by watching
		e.update("ns1", fmt.Sprintf("pod-%05d", i*10+1), "node-x")
	}
	kw := &killable{File: file}
	kw.killed.Store(true) // the benchmark's caches do not overwrite it
	for _, tc := range []struct {
		name string
		warm WarmStore
	}{{"start=warm", kw}, {"start=cold", nil}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var toReady, withCheck int64
			var cpu, checkCPU time.Duration
			for b.Loop() {
				counter.bytes.Store(0)
				logs := &logBuffer{}
				cpu0 := processCPU()
				c := e.restart(tc.warm, logs)
				cpu += processCPU() - cpu0
				toReady += counter.bytes.Load()
				b.StopTimer()
				if tc.warm != nil {
					if c.Lists() != 0 {
						b.Fatalf("a warm restart listed: %v", logMsg(logs.take(), "cache starting cold", ""))
					}
					cpu1 := processCPU()
					waitWarmCheck(b, c)
					checkCPU += processCPU() - cpu1
					if l := logMsg(logs.take(), "consistency check after warm start failed; relisting", ""); l != nil {
						b.Fatalf("the check after a warm start failed: %v", l)
					}
				}
				withCheck += counter.bytes.Load()
				c.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			if tc.warm != nil {
				b.ReportMetric(float64(checkCPU.Microseconds())/1000/float64(b.N), "check-cpu-ms/op")
			}
			b.ReportMetric(float64(toReady)/float64(b.N), "etcd-bytes-to-ready/op")
			b.ReportMetric(float64(withCheck)/float64(b.N), "etcd-bytes-with-check/op")
		})
	}
}

// processCPU is the CPU time (user and system) this process has used:
// the cache's and the in-process etcd's work, whatever else the machine
// runs (wall times on a shared machine are not).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
