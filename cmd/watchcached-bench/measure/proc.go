package measure

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ProcStat is one reading of a process's resource use.
type ProcStat struct {
	// CPU is user+system CPU time so far.
	CPU time.Duration
	// RSS is the resident set size in bytes.
	RSS int64
}

// clockTick is USER_HZ, which Linux fixes at 100 for /proc/<pid>/stat.
const clockTick = 100

// ReadProc reads /proc/<pid>/stat and /proc/<pid>/status.
func ReadProc(pid int) (ProcStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStat{}, err
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, 12 and 13 after ")".
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return ProcStat{}, fmt.Errorf("measure: short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	ps := ProcStat{CPU: time.Duration(ut+st) * time.Second / clockTick}
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcStat{}, err
	}
	for _, line := range strings.Split(string(s), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			ps.RSS = kb * 1024
		}
	}
	return ps, nil
}

// Sample is one point of a timeline.
type Sample struct {
	// T is seconds since the timeline started.
	T float64 `json:"t"`
	// Counters are per-second rates of the named counters over the last
	// interval (writes, events, reads).
	Rates map[string]float64 `json:"rates"`
	// CPU is the sampled process's CPU use over the interval, in cores.
	CPU float64 `json:"cpuCores,omitempty"`
	// RSS is the sampled process's RSS in bytes.
	RSS int64 `json:"rssBytes,omitempty"`
}

// Timeline samples named counters (and a process, when PID > 0) at a
// fixed interval. Run is called by its owner; Samples after Run returns.
type Timeline struct {
	PID      int
	Interval time.Duration
	Counters map[string]*Counter

	mu      sync.Mutex
	samples []Sample // guarded by mu
}

// Counter is a monotonically increasing count. Safe for concurrent use.
type Counter struct{ n atomic.Int64 }

// Add adds d.
func (c *Counter) Add(d int64) { c.n.Add(d) }

// Load returns the count.
func (c *Counter) Load() int64 { return c.n.Load() }

// Run samples until ctx is done.
func (tl *Timeline) Run(ctx context.Context) {
	iv := tl.Interval
	if iv <= 0 {
		iv = time.Second
	}
	start := time.Now()
	last := map[string]int64{}
	for k, c := range tl.Counters {
		last[k] = c.Load()
	}
	lastT := start
	var lastP ProcStat
	if tl.PID > 0 {
		lastP, _ = ReadProc(tl.PID)
	}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			dt := now.Sub(lastT).Seconds()
			s := Sample{T: now.Sub(start).Seconds(), Rates: map[string]float64{}}
			for k, c := range tl.Counters {
				n := c.Load()
				s.Rates[k] = float64(n-last[k]) / dt
				last[k] = n
			}
			if tl.PID > 0 {
				if p, err := ReadProc(tl.PID); err == nil {
					s.CPU = (p.CPU - lastP.CPU).Seconds() / dt
					s.RSS = p.RSS
					lastP = p
				}
			}
			lastT = now
			tl.mu.Lock()
			tl.samples = append(tl.samples, s)
			tl.mu.Unlock()
		}
	}
}

// Samples returns the samples taken so far.
func (tl *Timeline) Samples() []Sample {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return append([]Sample(nil), tl.samples...)
}
