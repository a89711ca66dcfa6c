package replay

import (
	"errors"
	"io"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

// Config is one replay.
type Config struct {
	// Etcd receives the writes.
	Etcd *clientv3.Client
	// Server is the server under test.
	Server *kube.Client
	// Header and Ops are the trace.
	Header *trace.Header
	Ops    []*trace.Op

	// Speed scales the trace's clock (2 = twice as fast); 0 replays as
	// fast as possible.
	Speed float64
	// Writers is the number of concurrent writers (keys are sharded, so
	// each key's ops stay in order); default 1, or 16 when Speed is 0.
	Writers int

	// Watchers watch the trace's main resource from the revision after the
	// prefill; NodeWatchers of them (≤ Watchers) select one node each
	// with spec.nodeName.
	Watchers, NodeWatchers int
	// LatencySample is how many watchers record per-event receipt times
	// for the delivery latency (the rest only count); default 100.
	LatencySample int
	// Listers list the main resource, cycling ListModes ("", "0",
	// "paged"); one list per ListInterval each (0: back to back).
	Listers      int
	ListModes    []string
	ListInterval time.Duration
	// PageSize is the limit of paginated lists; default 500.
	PageSize int
	// Getters GET random prefilled objects, one per GetInterval each
	// (0: back to back), with GetRV as resourceVersion ("" or "0").
	Getters     int
	GetInterval time.Duration
	GetRV       string

	// PID is the server's process id for CPU/RSS sampling; 0 skips it.
	PID int
	// DrainTimeout bounds the wait for watchers to receive every event
	// after the last write; default 30 s.
	DrainTimeout time.Duration
	// Progress receives a progress bar; nil is silent.
	Progress io.Writer
}

func (c *Config) defaults() error {
	if c.Etcd == nil || c.Server == nil || c.Header == nil {
		return errors.New("replay: Etcd, Server and Header are required")
	}
	if c.Speed < 0 || c.Watchers < 0 || c.NodeWatchers < 0 || c.NodeWatchers > c.Watchers || c.Listers < 0 || c.Getters < 0 {
		return errors.New("replay: negative speed or population, or more node watchers than watchers")
	}
	if c.Writers == 0 {
		c.Writers = 1
		if c.Speed == 0 {
			c.Writers = 16
		}
	}
	if c.LatencySample == 0 {
		c.LatencySample = 100
	}
	if len(c.ListModes) == 0 {
		c.ListModes = []string{"", "0", "paged"}
	}
	for _, m := range c.ListModes {
		if m != "" && m != "0" && m != "paged" {
			return errors.New(`replay: list modes are "", "0" and "paged"`)
		}
	}
	if c.PageSize == 0 {
		c.PageSize = 500
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 30 * time.Second
	}
	return nil
}

// Result is what a replay measured.
type Result struct {
	Profile  string            `json:"profile"`
	Seed     int64             `json:"seed"`
	Params   map[string]string `json:"params,omitempty"`
	Speed    float64           `json:"speed"`
	Duration float64           `json:"durationSeconds"`

	Prefill        int     `json:"prefillObjects"`
	PrefillSeconds float64 `json:"prefillSeconds"`
	StartRV        int64   `json:"startRV"`

	Writes    measure.Summary `json:"writes"`
	Conflicts int64           `json:"conflicts"`
	WriteErrs int64           `json:"writeErrors"`

	Watchers     int             `json:"watchers"`
	NodeWatchers int             `json:"nodeWatchers"`
	Expected     int64           `json:"eventsExpected"`
	Received     int64           `json:"eventsReceived"`
	Lost         int64           `json:"eventsLost"`
	Disorder     int64           `json:"eventsOutOfOrder"`
	WatchErrors  int64           `json:"watchErrors"`
	Delivery     measure.Summary `json:"delivery"`
	DrainSeconds float64         `json:"drainSeconds"`

	Reads      map[string]measure.Summary `json:"reads"`
	ReadErrors map[string]int64           `json:"readErrors,omitempty"`

	CPUSeconds float64          `json:"serverCPUSeconds,omitempty"`
	RSSMax     int64            `json:"serverRSSMaxBytes,omitempty"`
	Timeline   []measure.Sample `json:"timeline"`
}
