package upstream

import (
	"testing"

	"github.com/watchcached/watchcached/api"
)

// TestDecode_B171_RawAndRV: an object is kept as the upstream's JSON,
// compacted, with its RV, key, labels and selectable fields; RVAt points
// at metadata's own resourceVersion, not a nested one, so WithRV
// re-stamps the right digits.
func TestDecode_B171_RawAndRV(t *testing.T) {
	res := &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
		SelectableFields: []string{"spec.nodeName", "spec.replicas", "status.ok"}, FieldDefaults: map[string]string{"status.ok": "false"}}
	d := newDecoder(res, "/registry")
	in := `{"kind":"Pod", "apiVersion":"v1",
	 "spec":{"nodeName":"n1","replicas":3,"ref":{"resourceVersion":"17"}},
	 "metadata":{"ownerReferences":[{"resourceVersion":"17"}],"name":"p","namespace":"ns","uid":"u","resourceVersion":"17","labels":{"a":"b"}}}`
	obj, err := d.decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"Pod","apiVersion":"v1","spec":{"nodeName":"n1","replicas":3,"ref":{"resourceVersion":"17"}},"metadata":{"ownerReferences":[{"resourceVersion":"17"}],"name":"p","namespace":"ns","uid":"u","resourceVersion":"17","labels":{"a":"b"}}}`
	if string(obj.Raw) != want {
		t.Errorf("Raw:\n%s\nwant\n%s", obj.Raw, want)
	}
	if obj.Key != "/registry/pods/ns/p" || obj.RV != 17 || obj.UID != "u" || obj.Labels["a"] != "b" {
		t.Errorf("object: %+v", obj)
	}
	for f, v := range map[string]string{"metadata.name": "p", "metadata.namespace": "ns", "spec.nodeName": "n1", "spec.replicas": "3", "status.ok": "false"} {
		if obj.Fields[f] != v {
			t.Errorf("field %s: %q, want %q", f, obj.Fields[f], v)
		}
	}
	re := obj.WithRV(1234)
	wantRe := `{"kind":"Pod","apiVersion":"v1","spec":{"nodeName":"n1","replicas":3,"ref":{"resourceVersion":"17"}},"metadata":{"ownerReferences":[{"resourceVersion":"17"}],"name":"p","namespace":"ns","uid":"u","resourceVersion":"1234","labels":{"a":"b"}}}`
	if string(re.Raw) != wantRe {
		t.Errorf("WithRV:\n%s\nwant\n%s", re.Raw, wantRe)
	}
}

// TestDecode_B171_Refused: what is not an object of the resource with a
// positive integer RV is refused with the reason.
func TestDecode_B171_Refused(t *testing.T) {
	d := newDecoder(&api.Resource{Version: "v1", Resource: "nodes", Kind: "Node"}, "/registry")
	for in, want := range map[string]string{
		`[`:                         `upstream: object is not JSON: invalid JSON`,
		`{"metadata":{"name":"n"}}`: `upstream: object /n has resourceVersion "", not a positive integer`,
		`{"metadata":{"name":"n","resourceVersion":"0"}}`:                 `upstream: object /n has resourceVersion "0", not a positive integer`,
		`{"metadata":{"name":"n","namespace":"x","resourceVersion":"5"}}`: `upstream: object "x"/"n" does not name a Node`,
	} {
		_, err := d.decode([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("decode %s: %v, want %s", in, err, want)
		}
	}
}
