package etcdstore_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
)

// meta decodes metadata from an object's Raw.
func meta(t *testing.T, o *api.Object) map[string]any {
	t.Helper()
	var m struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(o.Raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.Metadata
}

func TestCreate_StoresAndValidates_B50(t *testing.T) {
	e := newEnv(t, nil)
	before := e.rev()
	obj, err := e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"p","labels":{"a":"b"}},"spec":{"nodeName":"n"}}`))
	if err != nil {
		t.Fatal(err)
	}
	md := meta(t, obj)
	uid, _ := md["uid"].(string)
	ts, _ := md["creationTimestamp"].(string)
	if obj.RV != before+1 || md["resourceVersion"] != api.FormatRV(before+1) || md["namespace"] != "ns" ||
		!regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(uid) || obj.UID != uid {
		t.Fatalf("created %s", obj.Raw)
	}
	if _, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "Z") {
		t.Fatalf("creationTimestamp %q", ts)
	}
	got, err := e.etcd.Client.Get(e.ctx, "/registry/pods/ns/p")
	if err != nil || len(got.Kvs) != 1 || strings.Contains(string(got.Kvs[0].Value), "resourceVersion") ||
		!strings.Contains(string(got.Kvs[0].Value), `"kind":"Pod"`) {
		t.Fatalf("stored %v: %v", got.Kvs, err)
	}
	read, _ := e.s.Get(e.ctx, "ns", "p", api.GetOptions{})
	if string(read.Raw) != string(obj.Raw) {
		t.Fatalf("Get %s, Create returned %s", read.Raw, obj.Raw)
	}

	_, err = e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"p"}}`))
	if ae := wantErr(t, err, api.ErrAlreadyExists); ae.Message != `pods "p" already exists` {
		t.Fatalf("message %q", ae.Message)
	}
	// Given uid and timestamp are kept.
	obj, err = e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"q","uid":"my-uid","creationTimestamp":"2020-01-01T00:00:00Z"}}`))
	if err != nil || obj.UID != "my-uid" || meta(t, obj)["creationTimestamp"] != "2020-01-01T00:00:00Z" {
		t.Fatalf("create q: %v %v", obj, err)
	}
	obj, err = e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"generateName":"web-"}}`))
	if err != nil || !regexp.MustCompile(`^web-[a-z0-9]{5}$`).MatchString(obj.Name) {
		t.Fatalf("generateName: %v %v", obj, err)
	}

	for body, sentinel := range map[string]error{
		`[1]`:                          api.ErrBadRequest,
		`{"metadata":{"name":"x"}} {}`: api.ErrBadRequest,
		`{"metadata":{"name":"x","namespace":"other"}}`: api.ErrBadRequest,
		`{"metadata":{}}`:                                  api.ErrBadRequest,
		`{"kind":"Node","metadata":{"name":"x"}}`:          api.ErrBadRequest,
		`{"apiVersion":"apps/v1","metadata":{"name":"x"}}`: api.ErrBadRequest,
		`{"metadata":{"name":"a/b"}}`:                      api.ErrBadRequest,
		`{"metadata":{"name":"x","labels":{"a":1}}}`:       api.ErrBadRequest,
		`{"metadata":"x"}`:                                 api.ErrBadRequest,
		`{"metadata":{"name":"x"},"spec":{"hostname":"` + strings.Repeat("x", 1600<<10) + `"}}`: api.ErrBadRequest,
	} {
		_, err := e.s.Create(e.ctx, "ns", []byte(body))
		ae := wantErr(t, err, sentinel)
		if len(body) > 1<<20 && ae.Message != "request is too large" {
			t.Fatalf("too large: %q", ae.Message)
		}
		if strings.Contains(body, "other") && ae.Message != "the namespace of the provided object does not match the namespace sent on the request" {
			t.Fatalf("namespace message %q", ae.Message)
		}
	}
}

func TestCreate_ClusterScoped(t *testing.T) {
	e := newEnv(t, &api.Resource{Version: "v1", Resource: "nodes", Kind: "Node"})
	obj, err := e.s.Create(e.ctx, "", []byte(`{"metadata":{"name":"n1","namespace":"ignored"}}`))
	if err != nil || obj.Key != "/registry/nodes/n1" || obj.Namespace != "" || meta(t, obj)["namespace"] != nil {
		t.Fatalf("create node: %+v %v", obj, err)
	}
	if _, err := e.s.Get(e.ctx, "", "n1", api.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestUpdate_PreconditionsAndValidation_B51(t *testing.T) {
	e := newEnv(t, nil)
	orig := e.create("ns", "p", "n1", nil)
	md := meta(t, orig)

	body := func(rv, node string) []byte {
		m := `{"metadata":{"name":"p"`
		if rv != "" {
			m += `,"resourceVersion":"` + rv + `"`
		}
		return []byte(m + `},"spec":{"nodeName":"` + node + `"}}`)
	}
	upd, err := e.s.Update(e.ctx, "ns", "p", body(api.FormatRV(orig.RV), "n2"))
	if err != nil {
		t.Fatal(err)
	}
	if upd.RV != orig.RV+1 || upd.Fields["spec.nodeName"] != "n2" || upd.UID != orig.UID ||
		meta(t, upd)["creationTimestamp"] != md["creationTimestamp"] {
		t.Fatalf("updated %s from %s", upd.Raw, orig.Raw)
	}
	_, err = e.s.Update(e.ctx, "ns", "p", body(api.FormatRV(orig.RV), "n3"))
	if ae := wantErr(t, err, api.ErrConflict); ae.Message != `Operation cannot be fulfilled on pods "p": the object has been modified; please apply your changes to the latest version and try again` {
		t.Fatalf("message %q", ae.Message)
	}
	// Unconditional.
	upd2, err := e.s.Update(e.ctx, "ns", "p", body("", "n3"))
	if err != nil || upd2.RV != upd.RV+1 {
		t.Fatalf("unconditional: %v %v", upd2, err)
	}
	// No change: nothing written.
	same, err := e.s.Update(e.ctx, "ns", "p", body("", "n3"))
	if err != nil || same.RV != upd2.RV || e.rev() != upd2.RV {
		t.Fatalf("no-op update wrote: %v %v", same, err)
	}
	_, err = e.s.Update(e.ctx, "ns", "missing", []byte(`{"metadata":{"name":"missing"}}`))
	wantErr(t, err, api.ErrNotFound)
	_, err = e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"name":"other"}}`))
	wantErr(t, err, api.ErrBadRequest)
	_, err = e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"uid":"different"}}`))
	wantErr(t, err, api.ErrInvalid)
	_, err = e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"resourceVersion":"abc"}}`))
	wantErr(t, err, api.ErrBadRequest)
}

func TestDelete_ReturnsLastStateWithPreconditions_B52(t *testing.T) {
	e := newEnv(t, nil)
	p := e.create("ns", "p", "", nil)
	wrong, rv := "nope", api.FormatRV(p.RV+100)
	_, err := e.s.Delete(e.ctx, "ns", "p", api.Preconditions{UID: &wrong})
	wantErr(t, err, api.ErrConflict)
	_, err = e.s.Delete(e.ctx, "ns", "p", api.Preconditions{ResourceVersion: &rv})
	wantErr(t, err, api.ErrConflict)
	uid, cur := p.UID, api.FormatRV(p.RV)
	del, err := e.s.Delete(e.ctx, "ns", "p", api.Preconditions{UID: &uid, ResourceVersion: &cur})
	if err != nil {
		t.Fatal(err)
	}
	if del.RV != p.RV+1 || string(del.Raw) != string(p.WithRV(p.RV+1).Raw) {
		t.Fatalf("deleted %s", del.Raw)
	}
	_, err = e.s.Delete(e.ctx, "ns", "p", api.Preconditions{})
	if ae := wantErr(t, err, api.ErrNotFound); ae.Message != `pods "p" not found` {
		t.Fatalf("message %q", ae.Message)
	}
}

func TestPatch_MergePatchWithStaleAndCurrentHints_B53(t *testing.T) {
	e := newEnv(t, nil)
	p := e.create("ns", "p", "n1", map[string]string{"a": "1", "b": "2"})
	got, err := e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"nodeName":"n2"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if got.RV != p.RV+1 || got.Labels["a"] != "" || got.Labels["b"] != "2" || got.Labels["c"] != "3" ||
		got.Fields["spec.nodeName"] != "n2" || got.UID != p.UID {
		t.Fatalf("patched %s", got.Raw)
	}
	// A stale hint: the compare fails, the store re-reads and retries.
	again, err := e.s.PatchWithHint(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"spec":{"hostname":"h1"}}`)), p)
	if err != nil || again.RV != got.RV+1 || again.Labels["c"] != "3" || !strings.Contains(string(again.Raw), `"hostname":"h1"`) {
		t.Fatalf("patch with stale hint: %v %v", again, err)
	}
	// A current hint is used as is.
	third, err := e.s.PatchWithHint(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"spec":{"hostname":"h2"}}`)), again)
	if err != nil || third.RV != again.RV+1 {
		t.Fatalf("patch with hint: %v %v", third, err)
	}
	// No change: nothing written.
	same, err := e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"spec":{"hostname":"h2"}}`)))
	if err != nil || same.RV != third.RV {
		t.Fatalf("no-op patch: %v %v", same, err)
	}
	_, err = e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"resourceVersion":"`+api.FormatRV(p.RV)+`"}}`)))
	wantErr(t, err, api.ErrConflict)
	_, err = e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"name":"q"}}`)))
	wantErr(t, err, api.ErrBadRequest)
	_, err = e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"namespace":"x"}}`)))
	wantErr(t, err, api.ErrBadRequest)
	_, err = e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`[]`)))
	wantErr(t, err, api.ErrBadRequest)
	_, err = e.s.Patch(e.ctx, "ns", "missing", api.NewMergePatch([]byte(`{}`)))
	wantErr(t, err, api.ErrNotFound)
}

// RFC 7386's examples.
func TestMergeJSON_RFC7386(t *testing.T) {
	for _, c := range [][3]string{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	} {
		var target, patch any
		_ = json.Unmarshal([]byte(c[0]), &target)
		_ = json.Unmarshal([]byte(c[1]), &patch)
		out, _ := json.Marshal(etcdstore.MergeJSON(target, patch))
		if string(out) != c[2] {
			t.Errorf("merge(%s, %s) = %s, want %s", c[0], c[1], out, c[2])
		}
	}
}

// B53: the cache's copy is only a first guess. A patch that pins the
// current resourceVersion, or that changes nothing in a stale hint, must be
// judged against etcd: no false 409, and no write silently dropped.
func TestPatch_B53_StaleHintNeverDecides(t *testing.T) {
	e := newEnv(t, nil)
	stale := e.create("ns", "p", "n1", map[string]string{"a": "1"})
	cur, err := e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"labels":{"a":"2"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	// Pinned at the current RV, hinted with the older copy: succeeds.
	pinned := `{"metadata":{"resourceVersion":"` + api.FormatRV(cur.RV) + `","labels":{"b":"1"}}}`
	got, err := e.s.PatchWithHint(e.ctx, "ns", "p", api.NewMergePatch([]byte(pinned)), stale)
	if err != nil || got.RV != cur.RV+1 || got.Labels["a"] != "2" || got.Labels["b"] != "1" {
		t.Fatalf("pinned patch with stale hint: %v %v", got, err)
	}
	// A patch that is a no-op for the stale hint (a=1) but not for etcd (a=2).
	got2, err := e.s.PatchWithHint(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"labels":{"a":"1"}}}`)), stale)
	if err != nil {
		t.Fatal(err)
	}
	if got2.RV != got.RV+1 || got2.Labels["a"] != "1" {
		t.Fatalf("patch dropped: got RV %d labels %v, want RV %d a=1", got2.RV, got2.Labels, got.RV+1)
	}
	read, err := e.s.Get(e.ctx, "ns", "p", api.GetOptions{})
	if err != nil || read.Labels["a"] != "1" || read.RV != got2.RV {
		t.Fatalf("stored %v %v", read, err)
	}
	// A pinned stale RV still conflicts after the fresh read.
	_, err = e.s.PatchWithHint(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"resourceVersion":"`+api.FormatRV(stale.RV)+`"}}`)), stale)
	wantErr(t, err, api.ErrConflict)
}
