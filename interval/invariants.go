package interval

import (
	"fmt"
	"strings"
)

// checkInvariants verifies the invariant written on Interval and returns
// the first violation. Tests call it after every step.
func (i *Interval) checkInvariants() error {
	if len(i.buf) > BufferSize || i.pos > len(i.buf) {
		return fmt.Errorf("buffer %d/%d with position %d", len(i.buf), BufferSize, i.pos)
	}
	for k := range i.pos {
		if i.buf[k] != nil {
			return fmt.Errorf("slot %d still holds RV %d after it was handed out", k, i.buf[k].RV)
		}
	}
	prev := i.lastRV
	for _, ev := range i.buf[i.pos:] {
		if ev == nil {
			return fmt.Errorf("nil event in the unread buffer")
		}
		if !strings.HasPrefix(ev.Key(), i.prefix) {
			return fmt.Errorf("buffered key %s outside the prefix %s", ev.Key(), i.prefix)
		}
		if ev.RV < prev && ev.RV > i.minRV {
			return fmt.Errorf("buffered RV %d before %d", ev.RV, prev)
		}
		prev = max(prev, ev.RV)
	}
	if i.lastRV < i.minRV {
		return fmt.Errorf("last RV %d below the start RV %d", i.lastRV, i.minRV)
	}
	return nil
}
