package server

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/kubeproto"
	"github.com/watchcached/watchcached/server/table"
)

// resourceEntry is one served resource: its storage and the constant JSON
// fragments that frame its lists and bookmarks. Read-only once built.
type resourceEntry struct {
	res     *api.Resource
	storage api.Storage
	// uncached serves the reads that bypass the cache (?cache=false): the
	// cache's source (api.Cached), or nil when storage is no cache.
	uncached api.Storage
	// listHead is `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"`.
	listHead []byte
	// bookmarkHead is `{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"`.
	bookmarkHead []byte
	// printer prints the resource's server-side tables (B224).
	printer *table.Printer
	// protobuf says the kind is built in (client-go's scheme): its
	// objects can be served as Kubernetes protobuf (api/kubeproto).
	protobuf bool
}

// resourceTable finds the entry of a request path and lists the resources
// for discovery, in configuration order (the configured storages, then the
// dynamic ones). A table is immutable once built: a change of the dynamic
// storages builds a new one and swaps it in (dynamic.go), so a request
// reads one consistent table without a lock.
type resourceTable struct {
	// byGVR is keyed by "<groupVersion>/<resource>", e.g. "apps/v1/deployments".
	byGVR map[string]*resourceEntry
	// byGV lists the entries of each groupVersion in configuration order.
	byGV map[string][]*resourceEntry
	// coreVersions are the versions of the core group ("v1"), in order.
	coreVersions []string
	// groups are the named groups in order of first appearance, each with
	// its versions in order of first appearance (the first is preferred).
	groups []groupVersions
}

type groupVersions struct {
	group    string
	versions []string
}

func newResourceTable(storages []api.Storage) (*resourceTable, error) {
	t := &resourceTable{byGVR: map[string]*resourceEntry{}, byGV: map[string][]*resourceEntry{}}
	for _, st := range storages {
		r := st.Resource()
		e, err := newResourceEntry(st)
		if err != nil {
			return nil, err
		}
		if c, ok := st.(api.Cached); ok {
			e.uncached = c.Uncached()
		}
		gv := r.GroupVersion()
		t.byGVR[gv+"/"+r.Resource] = e
		if len(t.byGV[gv]) == 0 {
			t.addVersion(r.Group, r.Version)
		}
		t.byGV[gv] = append(t.byGV[gv], e)
	}
	return t, nil
}

// newResourceEntry builds the entry of one storage, with the printer of
// its tables.
func newResourceEntry(st api.Storage) (*resourceEntry, error) {
	r := st.Resource()
	p, err := table.For(r)
	if err != nil {
		return nil, fmt.Errorf("resource %q: %w", r.GroupResource(), err)
	}
	return &resourceEntry{
		printer:      p,
		res:          r,
		storage:      st,
		listHead:     []byte(`{"kind":` + quote(r.ListKind()) + `,"apiVersion":` + quote(r.GroupVersion()) + `,"metadata":{"resourceVersion":"`),
		bookmarkHead: []byte(`{"type":"BOOKMARK","object":{"kind":` + quote(r.Kind) + `,"apiVersion":` + quote(r.GroupVersion()) + `,"metadata":{"resourceVersion":"`),
		protobuf:     kubeproto.Builtin(schema.GroupVersion{Group: r.Group, Version: r.Version}, r.Kind),
	}, nil
}

func (t *resourceTable) addVersion(group, version string) {
	if group == "" {
		t.coreVersions = append(t.coreVersions, version)
		return
	}
	for i := range t.groups {
		if t.groups[i].group == group {
			t.groups[i].versions = append(t.groups[i].versions, version)
			return
		}
	}
	t.groups = append(t.groups, groupVersions{group: group, versions: []string{version}})
}

// lookup returns the entry of resource in groupVersion, or nil.
func (t *resourceTable) lookup(groupVersion, resource string) *resourceEntry {
	return t.byGVR[groupVersion+"/"+resource]
}

// group returns the versions of a named group, or nil.
func (t *resourceTable) group(name string) *groupVersions {
	for i := range t.groups {
		if t.groups[i].group == name {
			return &t.groups[i]
		}
	}
	return nil
}

// quote renders s as a JSON string. Resource names, kinds and RVs never
// need escaping beyond the quotes, but continue tokens and names from
// requests go through here too.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			const hex = "0123456789abcdef"
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
