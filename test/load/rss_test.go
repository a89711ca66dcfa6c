package load

import (
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// reportRSS logs the RSS samples' range and, with
// WATCHCACHED_LOAD_PLOT=1, plots them into docs/bench/<name>.png.
func reportRSS(t *testing.T, samples []sample, name, title string) {
	if len(samples) == 0 {
		return
	}
	lo, hi := samples[0].rss, samples[0].rss
	for _, s := range samples {
		lo, hi = min(lo, s.rss), max(hi, s.rss)
	}
	last := samples[len(samples)-1]
	warm := samples[min(len(samples)-1, len(samples)/10)]
	t.Logf("RSS over %.0f s: min %.0f MiB, max %.0f MiB, after warm-up (10%%) %.0f MiB, at the end %.0f MiB",
		last.t, mib(lo), mib(hi), mib(warm.rss), mib(last.rss))
	if os.Getenv("WATCHCACHED_LOAD_PLOT") != "1" {
		return
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "daemon RSS (MiB)"
	p.Y.Min = 0
	pts := make(plotter.XYs, len(samples))
	for i, s := range samples {
		pts[i] = plotter.XY{X: s.t, Y: mib(s.rss)}
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l, plotter.NewGrid())
	if err := p.Save(8*vg.Inch, 4*vg.Inch, filepath.Join("..", "..", "docs", "bench", name+".png")); err != nil {
		t.Fatal(err)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
