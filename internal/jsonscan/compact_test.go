package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/internal/jsonscan"
)

func TestCompact(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{in: " {\n \"a\" : [ 1 , -2.5e+3 , true , null ] ,\t\"b\":\"x \\\" y\\u00e9\" } ", want: `{"a":[1,-2.5e+3,true,null],"b":"x \" y\u00e9"}`},
		{in: `"s"`, want: `"s"`},
		{in: ``, err: "invalid JSON"},
		{in: `{"a":01}`, err: "invalid JSON"},
		{in: `{"a" 1}`, err: "invalid JSON"},
		{in: "\"\t\"", err: "invalid JSON"},
		{in: `{} {}`, err: "data after the JSON value"},
		{in: strings.Repeat("[", 10002) + strings.Repeat("]", 10002), err: "JSON nested too deeply"},
	} {
		dst := []byte("prefix:")
		got, err := jsonscan.Compact(dst, []byte(c.in))
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err || string(got) != "prefix:"):
			t.Errorf("Compact(%.40q) = %.60q, %v; want error %q and dst unchanged", c.in, got, err, c.err)
		case c.err == "" && (err != nil || string(got) != "prefix:"+c.want):
			t.Errorf("Compact(%.40q) = %.60q, %v; want %q", c.in, got, err, "prefix:"+c.want)
		}
	}
}

// Compact must agree with encoding/json on validity and output.
func FuzzCompact(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5e-3, -0, true, false, null, "x\"y\u00e9"]}`, ` [ ] `, `{"a":}`, `01`, `"\x"`, `1.`, `{"a" 1}`, `[1,]`, "\"\t\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got, err := jsonscan.Compact(nil, src)
		var want bytes.Buffer
		werr := json.Compact(&want, src)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: Compact error %v, json.Compact error %v", src, err, werr)
		}
		if err == nil && string(got) != want.String() {
			t.Fatalf("%q: got %q, want %q", src, got, want.String())
		}
	})
}

// BenchmarkCompact compares Compact with what it replaces (json.Valid is
// implied by json.Compact) on an indented pod of about 1 KiB.
func BenchmarkCompact(b *testing.B) {
	var src bytes.Buffer
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-0","namespace":"default","labels":{"app":"web"},` +
		`"annotations":{"note":"` + strings.Repeat("x", 400) + `"}},"spec":{"nodeName":"node-17","containers":[{"name":"c",` +
		`"image":"nginx:1.25","ports":[{"containerPort":80}]}]},"status":{"phase":"Running","podIP":"10.0.0.1"}}`
	if err := json.Indent(&src, []byte(pod), "", "  "); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, src.Len())
	b.Run("Impl=jsonscan", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(src.Len()))
		for b.Loop() {
			if _, err := jsonscan.Compact(dst[:0], src.Bytes()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Impl=encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(src.Len()))
		out := bytes.NewBuffer(dst)
		for b.Loop() {
			out.Reset()
			if err := json.Compact(out, src.Bytes()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
