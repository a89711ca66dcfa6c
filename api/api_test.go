package api

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRV_OnlyCanonicalDecimals_B6(t *testing.T) {
	for s, want := range map[string]uint64{"0": 0, "1": 1, "42": 42, "9223372036854775807": 1<<63 - 1} {
		got, err := ParseRV("resourceVersion", s)
		if err != nil || got != want {
			t.Errorf("ParseRV(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1", "01", "+1", " 1", "1.0", "abc", "9223372036854775808", "18446744073709551616"} {
		_, err := ParseRV("resourceVersion", s)
		e := AsError(err)
		if !errors.Is(err, ErrBadRequest) || e == nil || e.Field != "resourceVersion" {
			t.Errorf("ParseRV(%q) = %v, want a bad request naming resourceVersion", s, err)
		}
	}
}

func TestContinue_B22_RoundTripAndExactEncoding(t *testing.T) {
	tok := EncodeContinue(42, "ns/name\x00")
	if strings.ContainsAny(tok, "=+/") {
		t.Fatalf("token %q is not base64url without padding", tok)
	}
	rv, start, err := DecodeContinue(tok)
	if err != nil || rv != 42 || start != "ns/name\x00" {
		t.Fatalf("decode: %d %q %v", rv, start, err)
	}
	// The exact JSON kube-apiserver uses, so tokens move between servers.
	const kube = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDIsInN0YXJ0IjoibnMvbmFtZVx1MDAwMCJ9"
	if tok != kube {
		t.Fatalf("token %q, want %q", tok, kube)
	}
	if rv, _, err := DecodeContinue(EncodeContinue(-1, "a\x00")); err != nil || rv != -1 {
		t.Fatalf("rv -1 token: %d %v", rv, err)
	}
}

func TestContinue_B22_Malformed(t *testing.T) {
	for name, tok := range map[string]string{
		"not base64":   "!!!",
		"not JSON":     "bm90IGpzb24",
		"rv zero":      EncodeContinue(0, "a\x00"),
		"rv below -1":  EncodeContinue(-2, "a\x00"),
		"empty start":  EncodeContinue(5, ""),
		"dot dot":      EncodeContinue(5, "../secrets/x\x00"),
		"inner dotdot": EncodeContinue(5, "ns/../../x"),
		"double slash": EncodeContinue(5, "ns//x"),
		"version":      "eyJ2IjoibWV0YS5rOHMuaW8vdjIiLCJydiI6NDIsInN0YXJ0IjoiYSJ9",
	} {
		_, _, err := DecodeContinue(tok)
		e := AsError(err)
		if !errors.Is(err, ErrBadRequest) || e == nil || e.Field != "continue" || !strings.HasPrefix(e.Message, "invalid continue token") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDecodeContinue(f *testing.F) {
	f.Add(EncodeContinue(7, "ns/a\x00"))
	f.Add("")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, tok string) {
		rv, start, err := DecodeContinue(tok)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		if rv == 0 || rv < -1 || start == "" || strings.Contains("/"+start, "/../") {
			t.Fatalf("accepted rv %d start %q", rv, start)
		}
		if rv2, start2, err := DecodeContinue(EncodeContinue(rv, start)); err != nil || rv2 != rv || start2 != start {
			t.Fatalf("re-encode: %d %q %v", rv2, start2, err)
		}
	})
}

func FuzzParseRV(f *testing.F) {
	for _, s := range []string{"0", "12", "-1", "01", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseRV("resourceVersion", s)
		if err != nil {
			return
		}
		if FormatRV(v) != s {
			t.Fatalf("ParseRV(%q) = %d, which formats as %q", s, v, FormatRV(v))
		}
	})
}

func FuzzParsePredicate(f *testing.F) {
	f.Add("app=web,tier!=db", "spec.nodeName=n1")
	f.Add("a in (x,y)", "metadata.name!=x")
	f.Add("!!", "bogus=1")
	f.Fuzz(func(t *testing.T, l, fs string) {
		p, err := ParsePredicate(l, fs, []string{"spec.nodeName"})
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		obj := &Object{Name: "x", Fields: map[string]string{"metadata.name": "x", "metadata.namespace": "", "spec.nodeName": "n1"}}
		_ = p.Matches(obj) // must not panic
	})
}

func TestPredicate_LabelAndFieldSelectorsMatch_B24(t *testing.T) {
	obj := &Object{
		Name: "a", Namespace: "ns1",
		Labels: map[string]string{"app": "web"},
		Fields: map[string]string{"spec.nodeName": "n1"}, // name and namespace come from Name and Namespace
	}
	for _, tc := range []struct {
		l, f string
		want bool
	}{
		{"", "", true},
		{"app=web", "", true},
		{"app!=web", "", false},
		{"", "spec.nodeName=n1", true},
		{"", "spec.nodeName==n2", false},
		{"", "spec.nodeName!=n2,metadata.namespace=ns1", true},
		{"app=web", "metadata.name=b", false},
	} {
		p, err := ParsePredicate(tc.l, tc.f, []string{"spec.nodeName"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Matches(obj) != tc.want {
			t.Errorf("%q %q: got %v", tc.l, tc.f, !tc.want)
		}
	}
	if _, err := ParsePredicate("", "spec.other=x", []string{"spec.nodeName"}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("unsupported field: %v", err)
	}
	if _, err := ParsePredicate("a b c", "", nil); !errors.Is(err, ErrBadRequest) {
		t.Errorf("bad label syntax: %v", err)
	}
	p, _ := ParsePredicate("", "spec.nodeName=n1", []string{"spec.nodeName"})
	if v, ok := p.ExactField("spec.nodeName"); !ok || v != "n1" {
		t.Errorf("ExactField: %q %v", v, ok)
	}
}

func TestObjectWithRV(t *testing.T) {
	raw := []byte(`{"metadata":{"resourceVersion":"7","name":"a"}}`)
	o := &Object{Name: "a", RV: 7, Raw: raw, RVAt: strings.Index(string(raw), "7")}
	n := o.WithRV(1234)
	if string(n.Raw) != `{"metadata":{"resourceVersion":"1234","name":"a"}}` || n.RV != 1234 || n.RVAt != o.RVAt {
		t.Fatalf("WithRV: %s %d", n.Raw, n.RV)
	}
	if string(o.Raw) != string(raw) {
		t.Fatal("WithRV modified the original")
	}
	if o.WithRV(7) != o {
		t.Fatal("WithRV to the same RV copied")
	}
	back := n.WithRV(7)
	if string(back.Raw) != string(raw) {
		t.Fatalf("round trip: %s", back.Raw)
	}
	ev := &Event{Type: Modified, Object: n, Prev: o, RV: 1234}
	if p := ev.PrevAtRV(); p.RV != 1234 || ev.PrevAtRV() != p {
		t.Fatalf("PrevAtRV: %v", p)
	}
}

func TestOptionsValidate_BadCombinationsNameTheField_B16_B36(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		err   error
		want  error
		field string
	}{
		{ListOptions{ResourceVersionMatch: MatchExact}.Validate(), ErrInvalid, "resourceVersionMatch"},
		{ListOptions{ResourceVersion: "0", ResourceVersionMatch: MatchExact}.Validate(), ErrInvalid, "resourceVersionMatch"},
		{ListOptions{ResourceVersion: "3", ResourceVersionMatch: "bogus"}.Validate(), ErrInvalid, "resourceVersionMatch"},
		{ListOptions{SendInitialEvents: &yes}.Validate(), ErrInvalid, "sendInitialEvents"},
		{ListOptions{ResourceVersion: "3", Continue: "x"}.Validate(), ErrBadRequest, "resourceVersion"},
		{ListOptions{Limit: -1}.Validate(), ErrBadRequest, "limit"},
		{WatchOptions{SendInitialEvents: &yes}.Validate(), ErrInvalid, "resourceVersionMatch"},
		{WatchOptions{ResourceVersion: "1", ResourceVersionMatch: MatchNotOlderThan}.Validate(), ErrInvalid, "resourceVersionMatch"},
		{WatchOptions{ResourceVersionMatch: "x"}.Validate(), ErrInvalid, "resourceVersionMatch"},
		{GetOptions{ResourceVersion: "x"}.Validate(), ErrBadRequest, "resourceVersion"},
	} {
		e := AsError(tc.err)
		if !errors.Is(tc.err, tc.want) || e == nil || e.Field != tc.field {
			t.Errorf("got %v (field %v), want %v on %s", tc.err, e, tc.want, tc.field)
		}
	}
	for _, ok := range []error{
		ListOptions{ResourceVersion: "0", Limit: 5}.Validate(),
		ListOptions{ResourceVersion: "5", ResourceVersionMatch: MatchExact}.Validate(),
		ListOptions{ResourceVersion: "0", Continue: "x"}.Validate(),
		WatchOptions{SendInitialEvents: &yes, ResourceVersionMatch: MatchNotOlderThan}.Validate(),
		WatchOptions{ResourceVersion: "17"}.Validate(),
	} {
		if ok != nil {
			t.Errorf("unexpected %v", ok)
		}
	}
}

func TestResource(t *testing.T) {
	pods := &Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}
	deps := &Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true}
	nodes := &Resource{Version: "v1", Resource: "nodes", Kind: "Node"}
	for got, want := range map[string]string{
		pods.Key("/registry", "ns1", "a"):         "/registry/pods/ns1/a",
		pods.NamespacePrefix("/registry", "ns1"):  "/registry/pods/ns1/",
		pods.NamespacePrefix("/registry/", ""):    "/registry/pods/",
		deps.Key("/registry", "ns", "d"):          "/registry/apps/deployments/ns/d",
		nodes.Key("/registry", "", "n1"):          "/registry/nodes/n1",
		nodes.NamespacePrefix("/registry", "ns1"): "/registry/nodes/",
		deps.GroupResource():                      "deployments.apps",
		deps.GroupVersion():                       "apps/v1",
		pods.ListKind():                           "PodList",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	for _, r := range []*Resource{pods, deps, nodes} {
		if err := r.Validate(); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []*Resource{
		{Version: "v1", Resource: "Pods", Kind: "Pod"},
		{Version: "v1", Resource: "pods", Kind: "pod"},
		{Version: "v1", Resource: "pods", Kind: "Pod", KeyPrefix: "a/../b"},
		{Version: "v1", Resource: "pods", Kind: "Pod", IndexedFields: []string{"spec.x"}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	for _, name := range []string{"", ".", "..", "a/b", "a%2Fb", strings.Repeat("x", 254)} {
		if err := ValidateName("name", name); !errors.Is(err, ErrBadRequest) {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

// B140: a token's start is relative to the list's own prefix, and joins
// back onto it as kube-apiserver joins it (one leading slash dropped).
func TestContinue_B140_KeysRelativeToListPrefix(t *testing.T) {
	const nsPrefix, resPrefix = "/registry/pods/second/", "/registry/pods/"
	key := "/registry/pods/second/bar\x00"
	for _, c := range []struct{ prefix, start string }{{nsPrefix, "bar\x00"}, {resPrefix, "second/bar\x00"}} {
		tok := EncodeContinueKey(9, key, c.prefix)
		if tok != EncodeContinue(9, c.start) {
			t.Fatalf("EncodeContinueKey under %q: %q, want start %q", c.prefix, tok, c.start)
		}
		_, start, err := DecodeContinue(tok)
		if err != nil || start != c.start || ContinueStartKey(c.prefix, start) != key {
			t.Fatalf("under %q: start %q key %q err %v", c.prefix, start, ContinueStartKey(c.prefix, start), err)
		}
	}
	if got := ContinueStartKey(nsPrefix, "/bar\x00"); got != key {
		t.Fatalf("leading slash: %q, want %q", got, key)
	}
}
