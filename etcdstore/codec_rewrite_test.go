package etcdstore_test

import (
	"testing"

	"github.com/watchcached/watchcached/api"
)

// TestB192_RewriteAPIVersion: a resource that rewrites apiVersion (a
// CRD version with conversion None) serves an object stored at another
// version with its own apiVersion, wherever the member stands; others
// serve apiVersion as stored.
func TestB192_RewriteAPIVersion(t *testing.T) {
	res := func(rewrite bool) *api.Resource {
		return &api.Resource{Group: "example.org", Version: "v2", Resource: "gadgets", Kind: "Gadget", Namespaced: true,
			KeyPrefix: "example.org/gadgets", RewriteAPIVersion: rewrite}
	}
	const key = "/registry/example.org/gadgets/ns1/g"
	for _, c := range []struct {
		rewrite    bool
		value, raw string
	}{
		{true, `{"apiVersion":"example.org/v1","kind":"Gadget","metadata":{"name":"g","namespace":"ns1"},"spec":{"a":1}}`,
			`{"apiVersion":"example.org/v2","kind":"Gadget","metadata":{"resourceVersion":"7","name":"g","namespace":"ns1"},"spec":{"a":1}}`},
		{true, `{"kind":"Gadget","metadata":{"name":"g","namespace":"ns1"},"apiVersion":"example.org/v1beta1","spec":{}}`,
			`{"kind":"Gadget","metadata":{"resourceVersion":"7","name":"g","namespace":"ns1"},"apiVersion":"example.org/v2","spec":{}}`},
		{true, `{"apiVersion":"example.org/v2","kind":"Gadget","metadata":{"name":"g","namespace":"ns1"}}`,
			`{"apiVersion":"example.org/v2","kind":"Gadget","metadata":{"resourceVersion":"7","name":"g","namespace":"ns1"}}`},
		{true, `{"kind":"Gadget","metadata":{"name":"g","namespace":"ns1"}}`,
			`{"apiVersion":"example.org/v2","kind":"Gadget","metadata":{"resourceVersion":"7","name":"g","namespace":"ns1"}}`},
		{false, `{"apiVersion":"example.org/v1","kind":"Gadget","metadata":{"name":"g","namespace":"ns1"}}`,
			`{"apiVersion":"example.org/v1","kind":"Gadget","metadata":{"resourceVersion":"7","name":"g","namespace":"ns1"}}`},
	} {
		e := newEnv(t, res(c.rewrite))
		obj, err := e.s.Decode(key, []byte(c.value), 7)
		if err != nil || string(obj.Raw) != c.raw {
			t.Errorf("%s (rewrite %v):\n got %s (%v)\nwant %s", c.value, c.rewrite, obj.Raw, err, c.raw)
			continue
		}
		if again := obj.WithRV(12); string(again.Raw[again.RVAt:again.RVAt+2]) != "12" {
			t.Errorf("WithRV: %s", again.Raw)
		}
	}
}
