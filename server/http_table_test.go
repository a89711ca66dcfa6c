package server

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	acceptTableV1 = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	acceptBeta    = "application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json"
)

// decodeTable parses a Table body and blanks its AGE cells (index 4 for
// pods), which depend on the clock.
func decodeTable(t *testing.T, body string) metav1.Table {
	t.Helper()
	var tb metav1.Table
	if err := json.Unmarshal([]byte(body), &tb); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	for _, r := range tb.Rows {
		if len(r.Cells) > 4 {
			r.Cells[4] = "age"
		}
	}
	return tb
}

func cellsJSON(tb metav1.Table) string {
	var rows []string
	for _, r := range tb.Rows {
		b, _ := json.Marshal(r.Cells)
		rows = append(rows, string(b))
	}
	return strings.Join(rows, " ")
}

// TestHTTPTable_B224_GetAndList: the Table of a GET and a LIST, as kubectl
// asks for it (v1 first, then v1beta1, then JSON), with metadata rows by
// default, whole objects or none with includeObject, v1beta1 when that
// comes first, and plain JSON without the header.
func TestHTTPTable_B224_GetAndList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	add(t, f.pods, "ns1", "a", nil)
	add(t, f.pods, "ns1", "b", map[string]string{"app": "x"})
	r := f.do(t, "GET", "/api/v1/namespaces/ns1/pods", "", "Accept", acceptTableV1)
	if ct := r.header.Get("Content-Type"); r.code != 200 || ct != "application/json;as=Table;v=v1;g=meta.k8s.io" {
		t.Fatalf("list: %d %q %s", r.code, ct, r.body)
	}
	tb := decodeTable(t, r.body)
	if tb.APIVersion != "meta.k8s.io/v1" || tb.Kind != "Table" || len(tb.ColumnDefinitions) != 9 || tb.ColumnDefinitions[8].Name != "Readiness Gates" ||
		tb.ResourceVersion == "" {
		t.Fatalf("list table: %+v", tb)
	}
	if got, want := cellsJSON(tb), `["a","0/0","","0","age","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"] `+
		`["b","0/0","","0","age","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"]`; got != want {
		t.Errorf("cells %s, want %s", got, want)
	}
	if !strings.Contains(r.body, `"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":`) ||
		!strings.Contains(r.body, `"labels":{"app":"x"}`) {
		t.Errorf("rows do not carry the metadata: %s", r.body)
	}

	g := f.do(t, "GET", "/api/v1/namespaces/ns1/pods/b?includeObject=Object", "", "Accept", acceptBeta)
	obj := f.do(t, "GET", "/api/v1/namespaces/ns1/pods/b", "")
	if !strings.HasPrefix(g.body, `{"kind":"Table","apiVersion":"meta.k8s.io/v1beta1","metadata":{"resourceVersion":"`+metaRV(t, obj.body)+`"}`) ||
		!strings.Contains(g.body, `"object":`+trimNL(obj.body)+`}]}`) {
		t.Errorf("get v1beta1 with object: %s", g.body)
	}
	n := f.do(t, "GET", "/api/v1/namespaces/ns1/pods/b?includeObject=None", "", "Accept", acceptTableV1)
	if !strings.HasSuffix(trimNL(n.body), `,"object":null}]}`) {
		t.Errorf("includeObject=None: %s", n.body)
	}
	f.do(t, "GET", "/api/v1/namespaces/ns1/pods?includeObject=All", "", "Accept", acceptTableV1).expect(t, 400,
		status(400, "BadRequest", `Unable to convert to Table as requested: includeObject: Invalid value: "All": must be 'Metadata', 'Object', 'None', or empty`, ""))
	if r := f.do(t, "GET", "/api/v1/namespaces/ns1/pods/b", "", "Accept", "application/json, application/json;as=Table;v=v1;g=meta.k8s.io"); r.body != obj.body {
		t.Errorf("JSON first: %s", r.body)
	}
}

// TestHTTPTable_B226_Watch: each watch event carries a Table of one row;
// only the first has the column definitions.
func TestHTTPTable_B226_Watch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	add(t, f.pods, "ns1", "a", nil)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", f.ts.URL+"/api/v1/namespaces/ns1/pods?watch=true&resourceVersion=0", nil)
	req.Header.Set("Accept", acceptTableV1)
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json;as=Table;v=v1;g=meta.k8s.io" {
		t.Errorf("content type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	add(t, f.pods, "ns1", "b", nil)
	for i, name := range []string{"a", "b"} {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		tb := decodeTable(t, string(ev.Object))
		if ev.Type != "ADDED" || len(tb.Rows) != 1 || tb.Rows[0].Cells[0] != name || (len(tb.ColumnDefinitions) == 9) != (i == 0) {
			t.Errorf("event %d: %s", i, line)
		}
		if i == 1 && !strings.Contains(line, `"columnDefinitions":null`) {
			t.Errorf("second event has headers: %s", line)
		}
	}
}
