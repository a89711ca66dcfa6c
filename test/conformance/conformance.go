package conformance

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// Fixture is one storage under test on its own etcd. It belongs to one
// (sub)test; the Factory registers its teardown with t.Cleanup.
type Fixture struct {
	// Storage is the implementation under test, serving the Resource
	// given to the Factory.
	Storage api.Storage
	// Etcd is a raw client of the same etcd, for the test's own writes,
	// revision reads and compaction.
	Etcd *clientv3.Client
	// Prefix is the etcd key prefix the storage uses, e.g. "/registry".
	Prefix string
	// Sync waits until the storage has seen revision rv: a read with
	// resourceVersion "0" or a watch from the current state then shows
	// every write up to rv (cacher: its RV reached rv; etcd: no-op).
	Sync func(t *testing.T, rv uint64)
	// Compact compacts etcd's history up to rev and waits for it.
	Compact func(t *testing.T, rev uint64)
	// History is how many writes after a revision are enough for the
	// storage to have forgotten that revision once etcd is compacted past
	// it (the cache's ring capacity; 0 for etcd, where compaction alone
	// does it). B23 and B32 write History+8 events before compacting.
	History int
	// KnownIssues maps a scenario name (e.g. "B44_NextAfterCloseWithPending")
	// to the reason it is skipped for this storage: a bug found by the suite
	// and not fixed yet. It shows as SKIP with the reason; keep it empty.
	KnownIssues map[string]string
}

// Factory starts a fresh etcd and a storage for res on it.
type Factory func(t *testing.T, res *api.Resource) Fixture

// Pods is the resource the suite runs against: namespaced core pods with
// spec.nodeName selectable and indexed.
func Pods() *api.Resource { return testkit.Pods() }

// Run runs every scenario against the storages f builds, one fresh
// Fixture per sub-test. Sub-tests are named by the behaviour they check,
// after its id in docs/behaviours.md, e.g. "List/B13_ExactList".
func Run(t *testing.T, f Factory) {
	t.Run("Get", func(t *testing.T) { runGet(t, f) })
	t.Run("List", func(t *testing.T) { runList(t, f) })
	t.Run("Pages", func(t *testing.T) { runPages(t, f) })
	t.Run("Watch", func(t *testing.T) { runWatch(t, f) })
	t.Run("Write", func(t *testing.T) { runWrite(t, f) })
}

// scenario is one named sub-test on a fresh fixture.
type scenario struct {
	name string
	fn   func(e *env)
}

func runAll(t *testing.T, f Factory, scenarios []scenario) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(t, f)
			if why, ok := e.KnownIssues[s.name]; ok {
				t.Skip("known issue: " + why)
			}
			s.fn(e)
		})
	}
}
