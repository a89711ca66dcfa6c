package server

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// testStore is the real etcdstore with the few faults and probes the
// server's tests need: an error that every read returns, a scripted watch,
// readiness, and the options of the last list and watch. Everything else
// is the store's own. The store is embedded as an api.Storage, so a
// testStore is no api.CorruptDeleter. Safe for concurrent use.
type testStore struct {
	api.Storage

	mu        sync.Mutex
	err       error                                                                 // guarded by mu; returned by Get, List and Watch
	watch     func(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) // guarded by mu; answers Watch when set
	lastList  api.ListOptions                                                       // guarded by mu
	lastWatch api.WatchOptions                                                      // guarded by mu
	notReady  bool                                                                  // guarded by mu
	hook      func(verb string)                                                     // guarded by mu; runs first in Get, List, Watch and Create
}

var _ api.Readiness = (*testStore)(nil)

func newTestStore(t *testing.T, e *etcdtest.Server, res *api.Resource) *testStore {
	return &testStore{Storage: newStore(t, e, res)}
}

func (s *testStore) Get(ctx context.Context, ns, name string, opts api.GetOptions) (*api.Object, error) {
	s.runHook("get")
	if err := s.failure(); err != nil {
		return nil, err
	}
	return s.Storage.Get(ctx, ns, name, opts)
}

func (s *testStore) List(ctx context.Context, opts api.ListOptions) (*api.List, error) {
	s.runHook("list")
	s.mu.Lock()
	s.lastList = opts
	s.mu.Unlock()
	if err := s.failure(); err != nil {
		return nil, err
	}
	return s.Storage.List(ctx, opts)
}

func (s *testStore) Watch(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) {
	s.runHook("watch")
	s.mu.Lock()
	s.lastWatch = opts
	w := s.watch
	s.mu.Unlock()
	if err := s.failure(); err != nil {
		return nil, err
	}
	if w != nil {
		return w(ctx, opts)
	}
	return s.Storage.Watch(ctx, opts)
}

func (s *testStore) Create(ctx context.Context, ns string, body []byte) (*api.Object, error) {
	s.runHook("create")
	return s.Storage.Create(ctx, ns, body)
}

// setHook makes fn run first in Get, List, Watch and Create (outside mu),
// to panic or block there; nil removes it.
func (s *testStore) setHook(fn func(verb string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

func (s *testStore) runHook(verb string) {
	s.mu.Lock()
	fn := s.hook
	s.mu.Unlock()
	if fn != nil {
		fn(verb)
	}
}

func (s *testStore) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.notReady
}

func (s *testStore) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *testStore) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// setWatch makes fn answer Watch; nil restores the store's own watch.
func (s *testStore) setWatch(fn func(ctx context.Context, opts api.WatchOptions) (api.Watcher, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watch = fn
}

func (s *testStore) setNotReady(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notReady = v
}

func (s *testStore) lastListOpts() api.ListOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastList
}

func (s *testStore) lastWatchOpts() api.WatchOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastWatch
}

// scriptWatcher hands out a fixed list of events, then returns end (or,
// when end is nil, blocks until its context is done or it is closed): the
// watch errors and bookmarks a test needs exactly where it needs them. It
// records the deadline of Next's context and whether it was closed.
type scriptWatcher struct {
	events []api.WatchEvent
	end    error
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	deadline time.Time // of Next's last context (zero: none); guarded by mu
}

func newScriptWatcher(events []api.WatchEvent, end error) *scriptWatcher {
	return &scriptWatcher{events: events, end: end, closed: make(chan struct{})}
}

func (w *scriptWatcher) Next(ctx context.Context) (api.WatchEvent, error) {
	d, _ := ctx.Deadline()
	w.mu.Lock()
	w.deadline = d
	w.mu.Unlock()
	if len(w.events) > 0 {
		ev := w.events[0]
		w.events = w.events[1:]
		return ev, nil
	}
	if w.end != nil {
		return api.WatchEvent{}, w.end
	}
	select {
	case <-ctx.Done():
		return api.WatchEvent{}, ctx.Err()
	case <-w.closed:
		return api.WatchEvent{}, io.EOF
	}
}

func (w *scriptWatcher) Close() { w.once.Do(func() { close(w.closed) }) }
