package etcdstore_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

func codecStore(res *api.Resource) *etcdstore.Store { return etcdstore.CodecOnly(res) }

func TestDecode_SpliceRV(t *testing.T) {
	s := codecStore(testkit.Pods())
	value := `{
  "metadata": {"name": "web-0", "namespace": "ns1", "resourceVersion": "7", "uid": "u-1",
               "labels": {"app": "web", "tier": "front"}},
  "spec": {"nodeName": "node-a", "x": [1, {"y": "}"}]}
}`
	obj, err := s.Decode("/registry/pods/ns1/web-0", []byte(value), 1234)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"v1","kind":"Pod","metadata":{"resourceVersion":"1234","name":"web-0","namespace":"ns1","uid":"u-1",` +
		`"labels":{"app":"web","tier":"front"}},"spec":{"nodeName":"node-a","x":[1,{"y":"}"}]}}`
	if string(obj.Raw) != want {
		t.Fatalf("Raw\n got %s\nwant %s", obj.Raw, want)
	}
	if got := string(obj.Raw[obj.RVAt : obj.RVAt+4]); got != "1234" || obj.Raw[obj.RVAt+4] != '"' {
		t.Fatalf("RVAt points at %q", obj.Raw[obj.RVAt:])
	}
	if obj.RV != 1234 || obj.Name != "web-0" || obj.Namespace != "ns1" || obj.UID != "u-1" ||
		obj.Labels["app"] != "web" || len(obj.Labels) != 2 {
		t.Fatalf("decoded %+v", obj)
	}
	if obj.Field("spec.nodeName") != "node-a" || obj.Field("metadata.name") != "web-0" ||
		obj.Field("metadata.namespace") != "ns1" || len(obj.Fields) != 1 {
		t.Fatalf("fields %v", obj.Fields)
	}
	// WithRV gives exactly what decoding at that revision gives, both ways.
	for _, rv := range []int64{5, 99999, 1234} {
		at, err := s.Decode(obj.Key, []byte(value), rv)
		if err != nil {
			t.Fatal(err)
		}
		re := obj.WithRV(uint64(rv))
		if string(re.Raw) != string(at.Raw) || re.RVAt != at.RVAt || re.RV != uint64(rv) {
			t.Fatalf("WithRV(%d) = %s, Decode at %d = %s", rv, re.Raw, rv, at.Raw)
		}
		if string(re.WithRV(1234).Raw) != want {
			t.Fatalf("round trip through %d lost bytes", rv)
		}
	}
	var check map[string]any
	if err := json.Unmarshal(obj.Raw, &check); err != nil {
		t.Fatalf("Raw is not JSON: %v", err)
	}
}

func TestDecode_SelectableFields(t *testing.T) {
	res := testkit.Pods()
	res.SelectableFields = []string{"spec.nodeName", "spec.unschedulable", "spec.replicas", "status.phase", "spec.obj"}
	s := codecStore(res)
	obj, err := s.Decode("/registry/pods/a/b", []byte(
		`{"metadata":{"name":"b","namespace":"a"},"spec":{"unschedulable":true,"replicas":3,"obj":{"k":"v"},"nodeName":"n\u0031"}}`), 2)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"metadata.name": "b", "metadata.namespace": "a", "spec.nodeName": "n1",
		"spec.unschedulable": "true", "spec.replicas": "3", "status.phase": "", "spec.obj": ""}
	if len(obj.Fields) != len(want)-2 { // name and namespace are served from Name and Namespace
		t.Fatalf("fields %v", obj.Fields)
	}
	for k, v := range want {
		if obj.Field(k) != v {
			t.Errorf("field %s = %q, want %q", k, obj.Field(k), v)
		}
	}
}

func TestDecode_ClusterScopedAndGroup(t *testing.T) {
	s := codecStore(&api.Resource{Group: "example.com", Version: "v2", Resource: "widgets", Kind: "Widget"})
	obj, err := s.Decode("/registry/example.com/widgets/w1", []byte(`{"kind":"Widget","metadata":{"name":"w1"}}`), 9)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"apiVersion":"example.com/v2","kind":"Widget","metadata":{"resourceVersion":"9","name":"w1"}}`; string(obj.Raw) != want {
		t.Fatalf("Raw %s, want %s", obj.Raw, want)
	}
	if obj.Namespace != "" || obj.Field("metadata.namespace") != "" || obj.Labels != nil {
		t.Fatalf("decoded %+v", obj)
	}
}

// B62: values that are not objects of the key are refused.
func TestDecode_B62_Failures(t *testing.T) {
	s := codecStore(testkit.Pods())
	key := "/registry/pods/ns1/p"
	for _, v := range []string{
		``, `nope`, `[]`, `"s"`, `{}`, `{"metadata":null}`, `{"metadata":[]}`,
		`{"metadata":{"namespace":"ns1"}}`,
		`{"metadata":{"name":"q","namespace":"ns1"}}`,
		`{"metadata":{"name":"p","namespace":"ns2"}}`,
		`{"metadata":{"name":"p"}}`,
		`{"metadata":{"name":1,"namespace":"ns1"}}`,
		`{"metadata":{"name":"p","namespace":"ns1","labels":{"a":1}}}`,
		`{"metadata":{"name":"p","namespace":"ns1"}`,
	} {
		if obj, err := s.Decode(key, []byte(v), 3); !errors.Is(err, etcdstore.ErrUndecodable) || obj != nil {
			t.Errorf("Decode(%q) = %v, %v; want etcdstore.ErrUndecodable", v, obj, err)
		}
	}
	if _, err := s.Decode(key, []byte(`{"metadata":{"name":"p","namespace":"ns1"}}`), 0); !errors.Is(err, etcdstore.ErrUndecodable) {
		t.Errorf("revision 0 accepted: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"p","namespace":"ns1","labels":{"a":"b"}},"spec":{"nodeName":"n"}}`), int64(5))
	f.Add([]byte(`{"kind":"Pod","metadata":{"resourceVersion":"3","name":"p","namespace":"ns1"}}`), int64(1))
	f.Add([]byte(`{"metadata":{"name":"p\"","namespace":"ns1"},"spec":"x"}`), int64(1<<40))
	f.Add([]byte(`{"spec":{"nodeName":{"a":["]"]}},"metadata":{"namespace":"ns1","name":"p"}}`), int64(2))
	f.Add(storedProto(f, protoPod("ns1", "p", "n", 1)), int64(7))
	f.Add([]byte("k8s:enc:aescbc:v1:key1:\x00"), int64(3))
	s := codecStore(testkit.Pods())
	f.Fuzz(func(t *testing.T, value []byte, rev int64) {
		obj, err := s.Decode("/registry/pods/ns1/p", value, rev)
		if err != nil {
			return
		}
		if !json.Valid(obj.Raw) {
			t.Fatalf("Raw not JSON: %s", obj.Raw)
		}
		d := strconv.FormatUint(obj.RV, 10)
		if string(obj.Raw[obj.RVAt:obj.RVAt+len(d)]) != d || obj.Raw[obj.RVAt+len(d)] != '"' {
			t.Fatalf("RVAt wrong in %s", obj.Raw)
		}
		if strings.Contains(string(obj.Raw), "\n") {
			t.Fatalf("Raw has a newline: %s", obj.Raw)
		}
		var m struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		}
		if json.Unmarshal(obj.Raw, &m) != nil || m.Metadata.ResourceVersion != d {
			t.Fatalf("resourceVersion not %s in %s", d, obj.Raw)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	s := codecStore(testkit.Pods())
	value := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-0","namespace":"default","uid":"0b9c7d2e-1111-4c1c-9a51-3f1f5c1e8e11",` +
		`"creationTimestamp":"2024-01-01T00:00:00Z","labels":{"app":"web","pod-template-hash":"abc123"},` +
		`"annotations":{"note":"` + strings.Repeat("x", 400) + `"}},"spec":{"nodeName":"node-17","containers":[{"name":"c","image":"nginx:1.25",` +
		`"ports":[{"containerPort":80}]}]},"status":{"phase":"Running","podIP":"10.0.0.1"}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		if _, err := s.Decode("/registry/pods/default/web-0", value, 123456); err != nil {
			b.Fatal(err)
		}
	}
}
