package watchcache

import (
	"fmt"
	"time"
)

// Defaults applied by Validate to zero fields of a Config.
const (
	DefaultMinCapacity = 100
	DefaultMaxCapacity = 102400
	DefaultWindow      = 75 * time.Second
	DefaultMaxBytes    = 256 << 20
	// DefaultCheckpointEvery trades Append cost against the cost of
	// reading a past state (see the package doc).
	DefaultCheckpointEvery = 32
)

// Config configures a WatchCache. It is a plain value; New validates a copy.
type Config struct {
	// MinCapacity and MaxCapacity bound the ring's capacity in events
	// (defaults 100 and 102400). The ring starts at MinCapacity.
	MinCapacity, MaxCapacity int
	// Window is the history the ring tries to keep: it grows (up to
	// MaxCapacity) rather than evict an event younger than Window, and
	// shrinks (down to MinCapacity) when far fewer events than its capacity
	// are younger than Window. Default 75s.
	Window time.Duration
	// MaxBytes bounds the total api.Object.Size of the events in the ring
	// (Object plus Prev); the oldest events are evicted past it, whatever
	// the window says. 0 means DefaultMaxBytes.
	MaxBytes int64
	// IndexedFields are the selectable field paths (names read with
	// api.Object.Field, e.g. "spec.nodeName" or "metadata.namespace") that
	// get a secondary index.
	IndexedFields []string
	// CheckpointEvery is how many events apart the writer takes a frozen
	// clone of the store; a read of the state between two checkpoints
	// replays fewer than that many events on a clone of the older one.
	// 1 clones after every event. 0 means DefaultCheckpointEvery.
	CheckpointEvery int
}

// Validate fills defaults into zero fields and reports the first invalid
// setting.
func (c *Config) Validate() error {
	if c.MinCapacity == 0 {
		c.MinCapacity = DefaultMinCapacity
	}
	if c.MaxCapacity == 0 {
		c.MaxCapacity = DefaultMaxCapacity
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	switch {
	case c.CheckpointEvery < 1:
		return fmt.Errorf("watchcache: CheckpointEvery %d must be positive", c.CheckpointEvery)
	case c.MinCapacity < 1:
		return fmt.Errorf("watchcache: MinCapacity %d must be positive", c.MinCapacity)
	case c.MaxCapacity < c.MinCapacity:
		return fmt.Errorf("watchcache: MaxCapacity %d is below MinCapacity %d", c.MaxCapacity, c.MinCapacity)
	case c.Window < 0:
		return fmt.Errorf("watchcache: Window %v must not be negative", c.Window)
	case c.MaxBytes < 0:
		return fmt.Errorf("watchcache: MaxBytes %d must not be negative", c.MaxBytes)
	}
	seen := make(map[string]bool, len(c.IndexedFields))
	for _, f := range c.IndexedFields {
		if f == "" || seen[f] {
			return fmt.Errorf("watchcache: IndexedFields: empty or duplicate field %q", f)
		}
		seen[f] = true
	}
	return nil
}
