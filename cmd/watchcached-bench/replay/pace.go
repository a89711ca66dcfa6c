package replay

import (
	"context"
	"time"
)

// every runs f every iv (back to back when iv is 0) until ctx is done.
func every(ctx context.Context, iv time.Duration, f func()) {
	var tick <-chan time.Time
	if iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	for ctx.Err() == nil {
		f()
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
