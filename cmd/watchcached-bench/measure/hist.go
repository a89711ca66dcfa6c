package measure

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Hist is a latency histogram. Safe for concurrent use.
type Hist struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram // guarded by mu
}

// NewHist returns an empty histogram.
func NewHist() *Hist {
	return &Hist{h: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
}

// Record adds one latency (clamped to the histogram's range).
func (h *Hist) Record(d time.Duration) {
	us := max(d.Microseconds(), 1)
	h.mu.Lock()
	_ = h.h.RecordValue(min(us, h.h.HighestTrackableValue()))
	h.mu.Unlock()
}

// Merge adds o's values to h.
func (h *Hist) Merge(o *Hist) {
	o.mu.Lock()
	snap := o.h.Export()
	o.mu.Unlock()
	h.mu.Lock()
	h.h.Merge(hdrhistogram.Import(snap))
	h.mu.Unlock()
}

// Count is the number of recorded values.
func (h *Hist) Count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h.TotalCount()
}

// Summary is a histogram's headline figures, in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"meanMs"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	P999  float64 `json:"p999Ms"`
	Max   float64 `json:"maxMs"`
	// PerSecond is Count over the measured period, when known.
	PerSecond float64 `json:"perSecond,omitempty"`
	// CDF holds (latency ms, fraction ≤) points for plots.
	CDF [][2]float64 `json:"cdf,omitempty"`
}

// Summary summarises h; over > 0 sets PerSecond.
func (h *Hist) Summary(over time.Duration) Summary {
	h.mu.Lock()
	defer h.mu.Unlock()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	s := Summary{
		Count: h.h.TotalCount(),
		Mean:  h.h.Mean() / 1000,
		P50:   ms(h.h.ValueAtQuantile(50)),
		P90:   ms(h.h.ValueAtQuantile(90)),
		P99:   ms(h.h.ValueAtQuantile(99)),
		P999:  ms(h.h.ValueAtQuantile(99.9)),
		Max:   ms(h.h.Max()),
	}
	if over > 0 {
		s.PerSecond = float64(s.Count) / over.Seconds()
	}
	if s.Count > 0 {
		for _, q := range cdfQuantiles {
			s.CDF = append(s.CDF, [2]float64{ms(h.h.ValueAtQuantile(q)), q / 100})
		}
	}
	return s
}

// cdfQuantiles are the CDF's sample points, dense in the tail.
var cdfQuantiles = func() []float64 {
	var qs []float64
	for q := 0.0; q < 90; q += 2 {
		qs = append(qs, q)
	}
	for q := 90.0; q < 99; q += 0.5 {
		qs = append(qs, q)
	}
	return append(qs, 99, 99.5, 99.9, 99.99, 100)
}()
