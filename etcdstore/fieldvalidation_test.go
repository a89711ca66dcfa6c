package etcdstore_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// B212: under Warn the unknown fields are removed wherever they are (in a
// list's element too), the known ones kept (map keys that hold dots
// included), and each is one warning, in the decoder's order; under Ignore the same without
// warnings; under Strict nothing is stored.
func TestFieldValidation_B212_NestedUnknownFields(t *testing.T) {
	e := newEnv(t, nil)
	const body = `{"metadata":{"name":"p","annotations":{"a.b/c":"d"}},"spec":{"containers":[{"name":"a","image":"i"},` +
		`{"name":"b","image":"j","bogus":{"x":1}}],"nodeSelector":{"k.io/x":"y"},"top":true}}`
	ctx, rep := api.WithReport(api.WithWriteOptions(e.ctx, api.WriteOptions{FieldValidation: api.FieldValidationWarn}))
	obj, err := e.s.Create(ctx, "ns", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	raw := string(obj.Raw)
	if strings.Contains(raw, "bogus") || strings.Contains(raw, "top") ||
		!strings.Contains(raw, `{"image":"j","name":"b"}`) || !strings.Contains(raw, `"nodeSelector":{"k.io/x":"y"}`) {
		t.Fatalf("stored %s", raw)
	}
	if want := []string{`unknown field "spec.containers[1].bogus"`, `unknown field "spec.top"`}; !reflect.DeepEqual(rep.Warnings(), want) {
		t.Fatalf("warnings %q, want %q", rep.Warnings(), want)
	}

	ctx, rep = api.WithReport(api.WithWriteOptions(e.ctx, api.WriteOptions{FieldValidation: api.FieldValidationIgnore}))
	if obj, err = e.s.Create(ctx, "ns", []byte(strings.Replace(body, `"name":"p"`, `"name":"q"`, 1))); err != nil || strings.Contains(string(obj.Raw), "bogus") {
		t.Fatalf("ignore: %v %v", obj, err)
	}
	if len(rep.Warnings()) != 0 {
		t.Fatalf("ignore warned %q", rep.Warnings())
	}

	ctx = api.WithWriteOptions(e.ctx, api.WriteOptions{FieldValidation: api.FieldValidationStrict})
	_, err = e.s.Create(ctx, "ns", []byte(strings.Replace(body, `"name":"p"`, `"name":"r"`, 1)))
	testkit.WantErr(t, err, api.ErrBadRequest, "",
		`Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[1].bogus", unknown field "spec.top"`)
	if _, err := e.s.Get(e.ctx, "ns", "r", api.GetOptions{}); err == nil {
		t.Fatal("a strict create that failed stored its object")
	}
}
