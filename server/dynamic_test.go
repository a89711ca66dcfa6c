package server

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
)

var widgetsRes = &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true,
	ShortNames: []string{"wd"}, Categories: []string{"all"}, SingularName: "widget", ListKindName: "WidgetCollection"}

// TestB190_DynamicStorages: a storage set at run time is served and listed
// in discovery (its names, list kind and short names included) at once;
// once removed, its paths and its group answer kube-apiserver's 404 and
// discovery no longer names it, while the configured resources stay.
func TestB190_DynamicStorages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	widgets := newStore(t, f.etcd, widgetsRes)
	notFound := status(404, "NotFound", msgNoSuchResource, "")
	const groups = `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}`
	f.do(t, http.MethodGet, "/apis/example.com/v1/widgets", "").expect(t, 404, notFound)

	if err := f.srv.SetDynamicStorages([]api.Storage{widgets}); err != nil {
		t.Fatal(err)
	}
	add(t, widgets, "ns1", "w1", nil)
	got := f.do(t, http.MethodGet, "/apis/example.com/v1/namespaces/ns1/widgets", "")
	if got.code != 200 || !strings.HasPrefix(got.body, `{"kind":"WidgetCollection","apiVersion":"example.com/v1","metadata":{"resourceVersion":"`) ||
		!strings.Contains(got.body, `"name":"w1"`) {
		t.Errorf("list: %d %s", got.code, got.body)
	}
	f.do(t, http.MethodGet, "/apis", "").expect(t, 200, groups+
		`,{"name":"example.com","versions":[{"groupVersion":"example.com/v1","version":"v1"}],"preferredVersion":{"groupVersion":"example.com/v1","version":"v1"}}]}`)
	f.do(t, http.MethodGet, "/apis/example.com/v1", "").expect(t, 200, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"example.com/v1","resources":[`+
		`{"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["wd"],"categories":["all"]}]}`)

	if err := f.srv.SetDynamicStorages(nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/apis/example.com/v1/namespaces/ns1/widgets", "/apis/example.com/v1/namespaces/ns1/widgets/w1", "/apis/example.com/v1", "/apis/example.com"} {
		f.do(t, http.MethodGet, p, "").expect(t, 404, notFound)
	}
	f.do(t, http.MethodGet, "/apis", "").expect(t, 200, groups+`]}`)
	if got := f.do(t, http.MethodGet, "/api/v1/pods", ""); got.code != 200 {
		t.Errorf("pods after the removal: %d %s", got.code, got.body)
	}
}

// TestB190_DynamicStoragesRefused: a dynamic resource that is configured
// already, given twice or invalid is refused and changes nothing.
func TestB190_DynamicStoragesRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	widgets := newStore(t, f.etcd, widgetsRes)
	if err := f.srv.SetDynamicStorages([]api.Storage{widgets}); err != nil {
		t.Fatal(err)
	}
	bad := *widgetsRes
	bad.Kind = "widget"
	for _, c := range []struct {
		storages []api.Storage
		want     string
	}{
		{[]api.Storage{newStore(t, f.etcd, podsRes)}, "server: dynamic resource v1/pods is already served"},
		{[]api.Storage{widgets, widgets}, "server: dynamic resource example.com/v1/widgets is already served"},
		{[]api.Storage{&replayStorage{res: &bad}}, `server: dynamic storage: resource "widgets.example.com": invalid kind "widget"`},
		{[]api.Storage{nil}, "server: dynamic storage 0 has no resource"},
	} {
		if err := f.srv.SetDynamicStorages(c.storages); err == nil || err.Error() != c.want {
			t.Errorf("SetDynamicStorages: %v, want %s", err, c.want)
		}
	}
	if got := f.do(t, http.MethodGet, "/apis/example.com/v1/widgets", ""); got.code != 200 {
		t.Errorf("widgets after refused changes: %d %s", got.code, got.body)
	}
}

// TestB190_DynamicStorageWatchKeepsItsStorage: a watch open on a dynamic
// resource keeps its storage after the removal: it is the owner's stop of
// that storage that ends it (the daemon's test checks the clean end).
func TestB190_DynamicStorageWatchKeepsItsStorage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	widgets := newStore(t, f.etcd, widgetsRes)
	if err := f.srv.SetDynamicStorages([]api.Storage{widgets}); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.ts.URL+"/apis/example.com/v1/widgets?watch=1&resourceVersion=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for i, name := range []string{"w1", "w2"} {
		if i == 1 {
			if err := f.srv.SetDynamicStorages(nil); err != nil {
				t.Fatal(err)
			}
		}
		add(t, widgets, "ns1", name, nil)
		if !sc.Scan() || !strings.HasPrefix(sc.Text(), `{"type":"ADDED","object":{"apiVersion":"example.com/v1","kind":"Widget"`) ||
			!strings.Contains(sc.Text(), `"name":"`+name+`"`) {
			t.Fatalf("event %d: %q (%v)", i, sc.Text(), sc.Err())
		}
	}
}
