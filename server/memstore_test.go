package server

import (
	"context"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"sync"

	"github.com/watchcached/watchcached/api"
)

// memStore is a small in-memory api.Storage for handler-level tests of the
// HTTP layer only (the storage semantics are tested on real etcd elsewhere).
// Safe for concurrent use.
type memStore struct {
	res *api.Resource

	mu      sync.Mutex
	rev     uint64                 // guarded by mu
	objects map[string]*api.Object // guarded by mu; by key
	// err, when set, is returned by every call.
	err error // guarded by mu
	// watch, when set, answers Watch.
	watch func(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) // guarded by mu
	// lastList/lastWatch are the options of the last calls.
	lastList  api.ListOptions  // guarded by mu
	lastWatch api.WatchOptions // guarded by mu
	notReady  bool             // guarded by mu
}

var (
	_ api.Storage   = (*memStore)(nil)
	_ api.Readiness = (*memStore)(nil)
)

func newMemStore(res *api.Resource) *memStore {
	return &memStore{res: res, rev: 1, objects: map[string]*api.Object{}}
}

func (m *memStore) Resource() *api.Resource { return m.res }

func (m *memStore) Ready() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.notReady
}

func (m *memStore) setErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

func (m *memStore) failure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *memStore) Get(_ context.Context, ns, name string, _ api.GetOptions) (*api.Object, error) {
	if err := m.failure(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[m.res.Key("/registry", ns, name)]
	if !ok {
		return nil, api.Errorf(api.ErrNotFound, "%s %q not found", m.res.GroupResource(), name)
	}
	return o, nil
}

func (m *memStore) List(_ context.Context, opts api.ListOptions) (*api.List, error) {
	if err := m.failure(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastList = opts
	prefix := m.res.NamespacePrefix("/registry", opts.Namespace)
	var keys []string
	for k, o := range m.objects {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix && opts.Predicate.Matches(o) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	l := &api.List{RV: m.rev, Items: []*api.Object{}}
	for i, k := range keys {
		if opts.Limit > 0 && int64(i) == opts.Limit {
			l.Continue = api.EncodeContinue(int64(m.rev), keys[i-1][len(m.res.Prefix("/registry")):]+"\x00")
			rest := int64(len(keys) - i)
			l.RemainingItemCount = &rest
			break
		}
		l.Items = append(l.Items, m.objects[k])
	}
	return l, nil
}

func (m *memStore) Watch(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) {
	if err := m.failure(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.lastWatch = opts
	w := m.watch
	m.mu.Unlock()
	if w == nil {
		return newScriptWatcher(nil, nil), nil
	}
	return w(ctx, opts)
}

func (m *memStore) Create(_ context.Context, ns string, body []byte) (*api.Object, error) {
	if err := m.failure(); err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "bad body: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	if name == "" {
		return nil, api.InvalidField("metadata.name", "", "name or generateName is required")
	}
	key := m.res.Key("/registry", ns, name)
	if _, ok := m.objects[key]; ok {
		return nil, api.Errorf(api.ErrAlreadyExists, "%s %q already exists", m.res.GroupResource(), name)
	}
	return m.putLocked(key, ns, obj), nil
}

func (m *memStore) Update(_ context.Context, ns, name string, body []byte) (*api.Object, error) {
	if err := m.failure(); err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "bad body: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	key := m.res.Key("/registry", ns, name)
	cur, ok := m.objects[key]
	if !ok {
		return nil, api.Errorf(api.ErrNotFound, "%s %q not found", m.res.GroupResource(), name)
	}
	md, _ := obj["metadata"].(map[string]any)
	if rv, _ := md["resourceVersion"].(string); rv != "" && rv != api.FormatRV(cur.RV) {
		return nil, api.Errorf(api.ErrConflict, "Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", m.res.GroupResource(), name)
	}
	return m.putLocked(key, ns, obj), nil
}

func (m *memStore) Patch(_ context.Context, ns, name string, patch []byte) (*api.Object, error) {
	if err := m.failure(); err != nil {
		return nil, err
	}
	var p map[string]any
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "bad patch: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	key := m.res.Key("/registry", ns, name)
	cur, ok := m.objects[key]
	if !ok {
		return nil, api.Errorf(api.ErrNotFound, "%s %q not found", m.res.GroupResource(), name)
	}
	var obj map[string]any
	_ = json.Unmarshal(cur.Raw, &obj)
	return m.putLocked(key, ns, mergePatch(obj, p).(map[string]any)), nil
}

func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = mergePatch(t[k], v)
		}
	}
	return t
}

func (m *memStore) Delete(_ context.Context, ns, name string, pre api.Preconditions) (*api.Object, error) {
	if err := m.failure(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	key := m.res.Key("/registry", ns, name)
	cur, ok := m.objects[key]
	if !ok {
		return nil, api.Errorf(api.ErrNotFound, "%s %q not found", m.res.GroupResource(), name)
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != api.FormatRV(cur.RV) ||
		pre.UID != nil && *pre.UID != cur.UID {
		return nil, api.Errorf(api.ErrConflict, "Operation cannot be fulfilled on %s %q: precondition failed", m.res.GroupResource(), name)
	}
	delete(m.objects, key)
	m.rev++
	return cur.WithRV(m.rev), nil
}

// putLocked stores obj at the next revision. Caller holds m.mu.
func (m *memStore) putLocked(key, ns string, obj map[string]any) *api.Object {
	m.rev++
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	if m.res.Namespaced {
		md["namespace"] = ns
	}
	md["resourceVersion"] = "RVRVRV"
	if _, ok := md["uid"]; !ok {
		md["uid"] = "uid-" + strconv.FormatUint(m.rev, 10)
	}
	raw, _ := json.Marshal(obj)
	o := objectWithRV(raw, m.rev)
	o.Key, o.Namespace = key, ns
	o.Name, _ = md["name"].(string)
	o.UID, _ = md["uid"].(string)
	m.objects[key] = o
	return o
}

// add stores a test object given as JSON (which must contain
// "resourceVersion":"RVRVRV" nowhere; metadata is filled in).
func (m *memStore) add(ns, name string, labels map[string]string) *api.Object {
	m.mu.Lock()
	defer m.mu.Unlock()
	md := map[string]any{"name": name}
	if len(labels) > 0 {
		md["labels"] = labels
	}
	o := m.putLocked(m.res.Key("/registry", ns, name), ns, map[string]any{
		"kind": m.res.Kind, "apiVersion": m.res.GroupVersion(), "metadata": md,
	})
	o.Labels = labels
	return o
}

// objectWithRV builds an Object from raw JSON holding the placeholder
// "RVRVRV" where the resourceVersion goes.
func objectWithRV(raw []byte, rv uint64) *api.Object {
	s := string(raw)
	at := indexOf(s, "RVRVRV")
	digits := api.FormatRV(rv)
	s = s[:at] + digits + s[at+len("RVRVRV"):]
	return &api.Object{Raw: []byte(s), RV: rv, RVAt: at}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// scriptWatcher hands out a fixed list of events, then returns end (or,
// when end is nil, blocks until its context is done or it is closed). It
// records the context deadline it saw and whether it was closed.
type scriptWatcher struct {
	events []api.WatchEvent
	end    error
	closed chan struct{}
	once   sync.Once

	mu          sync.Mutex
	sawDeadline bool // guarded by mu
}

func newScriptWatcher(events []api.WatchEvent, end error) *scriptWatcher {
	return &scriptWatcher{events: events, end: end, closed: make(chan struct{})}
}

func (w *scriptWatcher) Next(ctx context.Context) (api.WatchEvent, error) {
	_, hasDeadline := ctx.Deadline()
	w.mu.Lock()
	w.sawDeadline = hasDeadline
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

func (m *memStore) lastListOpts() api.ListOptions {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastList
}

func (m *memStore) lastWatchOpts() api.WatchOptions {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastWatch
}

func (m *memStore) setWatch(fn func(ctx context.Context, opts api.WatchOptions) (api.Watcher, error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.watch = fn
}

func (m *memStore) setNotReady(v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notReady = v
}
