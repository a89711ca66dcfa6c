// Package report writes benchmark results: JSON (the full record, CDFs
// and timelines included), Markdown tables (the headline figures, for
// docs/BENCHMARKS.md), and PNG plots made with gonum.org/v1/plot (latency
// CDFs on a log scale, throughput and server resources over time).
//
// It formats; it measures nothing and decides nothing about goals beyond
// printing the goal string a caller passes beside a figure.
package report
