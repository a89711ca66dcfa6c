// Package measure holds the benchmark's instruments: latency histograms
// (HDR, microsecond resolution, 1 µs to 1 min at three significant
// digits) with their summaries and CDFs, a sampler of a process's CPU time
// and RSS from /proc, per-second counters for throughput over time, and a
// progress line.
//
// Histograms are safe for concurrent recording but a hot path should keep
// one per goroutine and Merge at the end; the shared lock is there for
// simplicity, not speed.
package measure
