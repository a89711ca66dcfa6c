package report

import (
	"fmt"
	"image/color"
	"maps"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
)

// PlotCDF draws the latency CDFs of the named summaries (log-scale
// latency) into a PNG at path.
func PlotCDF(path, title string, named map[string]measure.Summary) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "latency (ms, log scale)"
	p.Y.Label.Text = "fraction of requests ≤ latency"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(-40)
	i := 0
	for _, name := range slices.Sorted(maps.Keys(named)) {
		s := named[name]
		if len(s.CDF) == 0 {
			continue
		}
		pts := make(plotter.XYs, 0, len(s.CDF))
		for _, c := range s.CDF {
			pts = append(pts, plotter.XY{X: max(c[0], 0.001), Y: c[1]})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("report: %s: %w", name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(name, l)
		i++
	}
	if i == 0 {
		p.Add(plotter.NewGrid())
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// PlotTimeline draws per-second rates of the named counters, and the
// sampled process's CPU (cores ×100, to share the axis) when present.
func PlotTimeline(path, title string, samples []measure.Sample, counters []string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "per second"
	p.Legend.Top = true
	for i, name := range counters {
		pts := make(plotter.XYs, 0, len(samples))
		for _, s := range samples {
			pts = append(pts, plotter.XY{X: s.T, Y: s.Rates[name]})
		}
		if err := addLine(p, name, pts, plotutil.Color(i)); err != nil {
			return err
		}
	}
	var cpu plotter.XYs
	for _, s := range samples {
		if s.CPU > 0 {
			cpu = append(cpu, plotter.XY{X: s.T, Y: s.CPU * 100})
		}
	}
	if len(cpu) > 0 {
		if err := addLine(p, "server CPU (% of a core)", cpu, color.Black); err != nil {
			return err
		}
	}
	return p.Save(8*vg.Inch, 4*vg.Inch, path)
}

// PlotXY draws named series of (x, y) points with the given axis labels.
func PlotXY(path, title, xLabel, yLabel string, series map[string][][2]float64) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	p.Legend.Top = true
	for i, name := range slices.Sorted(maps.Keys(series)) {
		pts := make(plotter.XYs, 0, len(series[name]))
		for _, xy := range series[name] {
			pts = append(pts, plotter.XY{X: xy[0], Y: xy[1]})
		}
		if err := addLine(p, name, pts, plotutil.Color(i)); err != nil {
			return err
		}
	}
	return p.Save(8*vg.Inch, 4*vg.Inch, path)
}

func addLine(p *plot.Plot, name string, pts plotter.XYs, c color.Color) error {
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("report: %s: %w", name, err)
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}
