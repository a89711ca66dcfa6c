package etcdstore_test

import (
	"fmt"
	"reflect"
	"testing"
	"unsafe"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

func decodePod(t *testing.T, s *etcdstore.Store, ns, name, labels, node string) *api.Object {
	t.Helper()
	v := fmt.Sprintf(`{"metadata":{"name":%q,"namespace":%q,"labels":%s},"spec":{"nodeName":%q}}`, name, ns, labels, node)
	obj, err := s.Decode("/registry/pods/"+ns+"/"+name, []byte(v), 5)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// sameMap reports whether a and b are one map (not merely equal ones).
func sameMap[M ~map[string]string](a, b M) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// within reports whether s's bytes lie inside of's.
func within(s, of string) bool {
	p, b := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(of)))
	return p >= b && p+uintptr(len(s)) <= b+uintptr(len(of))
}

// TestDecode_B250_SharesMapsAndKey: objects with the same labels text and
// the same selectable field values share one map each; different ones do
// not; Namespace and Name are substrings of Key; field selectors on
// metadata.name and metadata.namespace still match from Name and Namespace.
func TestDecode_B250_SharesMapsAndKey(t *testing.T) {
	s := codecStore(testkit.Pods())
	a := decodePod(t, s, "ns1", "a", `{"app":"web","tier":"front"}`, "n1")
	b := decodePod(t, s, "ns2", "b", `{"app":"web","tier":"front"}`, "n1")
	c := decodePod(t, s, "ns1", "c", `{"app":"db"}`, "n2")
	if !sameMap(a.Labels, b.Labels) || !sameMap(a.Fields, b.Fields) {
		t.Fatalf("identical labels/fields not shared: %v %v / %v %v", a.Labels, b.Labels, a.Fields, b.Fields)
	}
	if sameMap(a.Labels, c.Labels) || sameMap(a.Fields, c.Fields) {
		t.Fatal("different labels/fields share a map")
	}
	if want := map[string]string{"app": "web", "tier": "front"}; !reflect.DeepEqual(map[string]string(b.Labels), want) {
		t.Fatalf("labels %v, want %v", b.Labels, want)
	}
	if want := map[string]string{"spec.nodeName": "n2"}; !reflect.DeepEqual(map[string]string(c.Fields), want) {
		t.Fatalf("fields %v, want %v", c.Fields, want)
	}
	for _, o := range []*api.Object{a, b, c} {
		if !within(o.Name, o.Key) || !within(o.Namespace, o.Key) {
			t.Fatalf("%s: name %q / namespace %q are not substrings of the key", o.Key, o.Name, o.Namespace)
		}
	}
	for sel, want := range map[string]bool{
		"metadata.name=b": true, "metadata.namespace=ns2": true, "metadata.namespace!=ns2": false,
		"metadata.name=a,spec.nodeName=n1": false, "spec.nodeName=n1,metadata.namespace=ns2": true,
	} {
		p, err := api.ParsePredicate("app=web", sel, []string{"spec.nodeName"})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Matches(b); got != want {
			t.Errorf("%s matches %s: %v, want %v", sel, b.Key, got, want)
		}
	}
}

// TestDecode_B250_InternTableBounded: past InternMax distinct label sets
// the table starts over, so a set decoded before is no longer shared with
// the next object, while decoding stays correct.
func TestDecode_B250_InternTableBounded(t *testing.T) {
	s := codecStore(testkit.Pods())
	first := decodePod(t, s, "ns", "p0", `{"i":"0"}`, "n")
	if again := decodePod(t, s, "ns", "q0", `{"i":"0"}`, "n"); !sameMap(first.Labels, again.Labels) {
		t.Fatal("not shared before the table filled")
	}
	for i := 1; i <= etcdstore.InternMax; i++ {
		decodePod(t, s, "ns", fmt.Sprintf("p%d", i), fmt.Sprintf(`{"i":"%d"}`, i), "n")
	}
	later := decodePod(t, s, "ns", "r0", `{"i":"0"}`, "n")
	if sameMap(first.Labels, later.Labels) || later.Labels["i"] != "0" || len(later.Labels) != 1 {
		t.Fatalf("after %d distinct sets: shared %v, labels %v", etcdstore.InternMax, sameMap(first.Labels, later.Labels), later.Labels)
	}
}

// BenchmarkDecode_DistinctLabels decodes pods whose labels differ from
// one to the next (10,000 distinct sets, more than an intern table holds):
// the interning's worst case, every lookup a miss and an insert.
func BenchmarkDecode_DistinctLabels(b *testing.B) {
	s := codecStore(testkit.Pods())
	values := make([][]byte, 10000)
	for i := range values {
		values[i] = fmt.Appendf(nil, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-0","namespace":"default","uid":"u-1",`+
			`"labels":{"app":"web","pod-template-hash":"h%d"}},"spec":{"nodeName":"node-%d"},"status":{"phase":"Running"}}`, i, i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Decode("/registry/pods/default/web-0", values[i%len(values)], 123456); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
