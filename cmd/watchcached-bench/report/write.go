package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/replay"
)

// WriteJSON writes v, indented, to path.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Table is a Markdown table under construction.
type Table struct {
	Header []string
	Rows   [][]string
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// String renders the table.
func (t *Table) String() string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(t.Header, " | ") + " |\n|")
	for range t.Header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// Ms formats milliseconds with three significant digits.
func Ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// LatencyTable is one row per named summary: count, rate, mean, p50,
// p99, max.
func LatencyTable(named map[string]measure.Summary) *Table {
	t := &Table{Header: []string{"operation", "count", "per s", "mean ms", "p50 ms", "p99 ms", "max ms"}}
	for _, k := range slices.Sorted(maps.Keys(named)) {
		s := named[k]
		t.Add(k, fmt.Sprint(s.Count), fmt.Sprintf("%.0f", s.PerSecond), Ms(s.Mean), Ms(s.P50), Ms(s.P99), Ms(s.Max))
	}
	return t
}

// ReplayMarkdown renders a replay result.
func ReplayMarkdown(r *replay.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Replay of %s (seed %d, speed %g)\n\n", r.Profile, r.Seed, r.Speed)
	s := &Table{Header: []string{"figure", "value"}}
	s.Add("prefill", fmt.Sprintf("%d objects in %.1f s", r.Prefill, r.PrefillSeconds))
	s.Add("writes", fmt.Sprintf("%d in %.1f s (%.0f/s), %d conflicts, %d errors", r.Writes.Count, r.Duration, r.Writes.PerSecond, r.Conflicts, r.WriteErrs))
	s.Add("watchers", fmt.Sprintf("%d (%d with a node selector)", r.Watchers, r.NodeWatchers))
	s.Add("events expected / received", fmt.Sprintf("%d / %d", r.Expected, r.Received))
	s.Add("**events lost** (goal 0)", fmt.Sprint(r.Lost))
	s.Add("events out of order", fmt.Sprint(r.Disorder))
	s.Add("delivery latency p50 / p99 / max", fmt.Sprintf("%s / %s / %s ms", Ms(r.Delivery.P50), Ms(r.Delivery.P99), Ms(r.Delivery.Max)))
	s.Add("drain after last write", fmt.Sprintf("%.2f s", r.DrainSeconds))
	if r.CPUSeconds > 0 {
		s.Add("server CPU", fmt.Sprintf("%.1f s (%.2f cores)", r.CPUSeconds, r.CPUSeconds/max(r.Duration+r.DrainSeconds, 1e-9)))
		s.Add("server RSS max", fmt.Sprintf("%.1f MiB", float64(r.RSSMax)/(1<<20)))
	}
	b.WriteString(s.String())
	named := map[string]measure.Summary{"write": r.Writes, "watch delivery": r.Delivery}
	for k, v := range r.Reads {
		named[k] = v
	}
	b.WriteString("\n")
	b.WriteString(LatencyTable(named).String())
	if len(r.ReadErrors) > 0 {
		fmt.Fprintf(&b, "\nRead errors: %v\n", r.ReadErrors)
	}
	return b.String()
}

// WriteReplay writes a replay result into dir as <name>.json, <name>.md,
// <name>-latency.png (CDFs) and <name>-timeline.png, and returns the
// paths written.
func WriteReplay(dir, name string, r *replay.Result) ([]string, error) {
	base := filepath.Join(dir, name)
	paths := []string{base + ".json", base + ".md", base + "-latency.png", base + "-timeline.png"}
	if err := WriteJSON(paths[0], r); err != nil {
		return nil, err
	}
	if err := os.WriteFile(paths[1], []byte(ReplayMarkdown(r)), 0o644); err != nil {
		return nil, err
	}
	named := map[string]measure.Summary{"write": r.Writes, "watch delivery": r.Delivery}
	for k, v := range r.Reads {
		named[k] = v
	}
	if err := PlotCDF(paths[2], "Latency CDF: "+r.Profile, named); err != nil {
		return nil, err
	}
	if err := PlotTimeline(paths[3], "Throughput over time: "+r.Profile, r.Timeline, []string{"writes", "events", "reads"}); err != nil {
		return nil, err
	}
	return paths, nil
}
