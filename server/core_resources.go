package server

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/kubeproto"
)

// resourceEntry is one served resource: its storage and the constant JSON
// fragments that frame its lists and bookmarks. Read-only after New.
type resourceEntry struct {
	res     *api.Resource
	storage api.Storage
	// listHead is `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"`.
	listHead []byte
	// bookmarkHead is `{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"`.
	bookmarkHead []byte
	// protobuf says the kind is built in (client-go's scheme): its
	// objects can be served as Kubernetes protobuf (api/kubeproto).
	protobuf bool
}

// resourceTable finds the entry of a request path and lists the resources
// for discovery, in configuration order. Read-only after New.
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

func newResourceTable(storages []api.Storage) *resourceTable {
	t := &resourceTable{byGVR: map[string]*resourceEntry{}, byGV: map[string][]*resourceEntry{}}
	for _, st := range storages {
		r := st.Resource()
		e := &resourceEntry{
			res:          r,
			storage:      st,
			listHead:     []byte(`{"kind":` + quote(r.ListKind()) + `,"apiVersion":` + quote(r.GroupVersion()) + `,"metadata":{"resourceVersion":"`),
			bookmarkHead: []byte(`{"type":"BOOKMARK","object":{"kind":` + quote(r.Kind) + `,"apiVersion":` + quote(r.GroupVersion()) + `,"metadata":{"resourceVersion":"`),
			protobuf:     kubeproto.Builtin(schema.GroupVersion{Group: r.Group, Version: r.Version}, r.Kind),
		}
		gv := r.GroupVersion()
		t.byGVR[gv+"/"+r.Resource] = e
		if len(t.byGV[gv]) == 0 {
			t.addVersion(r.Group, r.Version)
		}
		t.byGV[gv] = append(t.byGV[gv], e)
	}
	return t
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
