//go:build !linux

package server

// goneWatcher has no shared poller off Linux: every taken-over connection
// has its own reader (hijackedWatch.read).
type goneWatcher struct{}

func (*goneWatcher) add(*hijackedWatch) bool { return false }
func (*goneWatcher) remove(*hijackedWatch)   {}
