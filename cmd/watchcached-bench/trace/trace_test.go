package trace

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
)

func testHeader() Header {
	return Header{
		Profile: "test", Seed: 7, Prefix: "/registry", Prefill: 1, Ops: 3,
		Params:    map[string]string{"scale": "1"},
		Resources: []*api.Resource{{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true, SelectableFields: []string{"spec.nodeName"}}},
		Templates: map[string]string{"pod": `{"metadata":{"name":"$name","namespace":"$namespace"},"spec":{"nodeName":"$node","n":"$nodeName"}}`},
		Reads:     []Read{{Verb: "list", PerSecond: 1, LabelSelector: "x=y"}},
	}
}

func TestRoundTrip(t *testing.T) {
	h := testHeader()
	ops := []*Op{
		{At: 0, Type: Create, Key: "/registry/pods/default/a", Body: json.RawMessage(`{ "metadata": {"name":"a","namespace":"default"} }`)},
		{At: 1500, Type: Update, Key: "/registry/pods/default/a", Template: "pod", Vars: map[string]string{"node": "n1", "nodeName": "N"}, CAS: true},
		{At: 1500, Type: Delete, Key: "/registry/pods/default/a", CAS: true},
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ops {
		if err := w.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 4 {
		t.Fatalf("%d lines, want 4:\n%s", n, buf.String())
	}
	gh, gops, err := ReadAll(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	h.Format = Format
	if !reflect.DeepEqual(*gh, h) {
		t.Fatalf("header\n got %+v\nwant %+v", *gh, h)
	}
	ops[0].Body = json.RawMessage(`{"metadata":{"name":"a","namespace":"default"}}`) // compacted
	if !reflect.DeepEqual(gops, ops) {
		t.Fatalf("ops\n got %+v\nwant %+v", gops, ops)
	}
	v, err := gh.Value(gops[1])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"metadata":{"name":"a","namespace":"default"},"spec":{"nodeName":"n1","n":"N"}}`; string(v) != want {
		t.Fatalf("expanded %s, want %s", v, want)
	}
	if !json.Valid(v) {
		t.Fatal("expanded template is not JSON")
	}
}

func TestReader_Rejects(t *testing.T) {
	good := func() string {
		b, _ := json.Marshal(func() Header { h := testHeader(); h.Format = Format; h.Ops = 1; h.Prefill = 0; return h }())
		return string(b) + "\n"
	}
	for name, in := range map[string]string{
		"empty":       "",
		"bad version": strings.Replace(good(), Format, "watchcached-trace/v0", 1),
		"unknown op":  good() + `{"t":0,"op":"patch","key":"/registry/pods/default/a"}` + "\n",
		"outside":     good() + `{"t":0,"op":"delete","key":"/other/pods/default/a"}` + "\n",
		"no body":     good() + `{"t":0,"op":"create","key":"/registry/pods/default/a"}` + "\n",
		"bad tpl":     good() + `{"t":0,"op":"create","key":"/registry/pods/default/a","tpl":"nope"}` + "\n",
		"short":       good(),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(in))
			for err == nil {
				_, err = r.Next()
			}
			if err == io.EOF {
				t.Fatal("accepted")
			}
		})
	}
}

func TestWriter_RejectsTimeTravel(t *testing.T) {
	w, err := NewWriter(io.Discard, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Op{At: 10, Type: Delete, Key: "/registry/pods/default/a"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Op{At: 9, Type: Delete, Key: "/registry/pods/default/a"}); err == nil {
		t.Fatal("accepted an op earlier than the previous one")
	}
}

func TestSplitKey(t *testing.T) {
	ns, name := SplitKey("/registry/pods/default/p-1")
	if ns != "default" || name != "p-1" {
		t.Fatalf("%q %q", ns, name)
	}
}
