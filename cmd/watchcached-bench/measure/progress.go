package measure

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress draws a progress bar: one line rewritten with \r on a
// terminal, a plain line every 10 s otherwise. Single goroutine: the
// caller calls Update and Done from one place.
type Progress struct {
	w      io.Writer
	tty    bool
	label  string
	start  time.Time
	last   time.Time
	silent bool
}

// NewProgress starts a progress display on w (nil: silent).
func NewProgress(w io.Writer, label string) *Progress {
	p := &Progress{w: w, label: label, start: time.Now(), silent: w == nil}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// Update shows frac (0..1) done and a short status.
func (p *Progress) Update(frac float64, status string) {
	if p.silent {
		return
	}
	now := time.Now()
	if !p.tty && now.Sub(p.last) < 10*time.Second {
		return
	}
	if p.tty && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	frac = min(max(frac, 0), 1)
	const width = 30
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	line := fmt.Sprintf("%-14s [%s] %3.0f%% %6.1fs %s", p.label, bar, frac*100, now.Sub(p.start).Seconds(), status)
	if p.tty {
		fmt.Fprintf(p.w, "\r%-110s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// Done ends the display with a final line.
func (p *Progress) Done(status string) {
	if p.silent {
		return
	}
	if p.tty {
		fmt.Fprint(p.w, "\r")
	}
	fmt.Fprintf(p.w, "%-14s done in %.1fs %s\n", p.label, time.Since(p.start).Seconds(), status)
}
