package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// B102: DELETE on a namespaced collection with a label selector deletes the
// selected objects and answers 200 with the PodList of them as listed;
// the cluster-wide collection of a namespaced resource is 405; a dry run
// (B211) answers the same list and deletes nothing; propagationPolicy is
// accepted.
func TestHTTP_B102_DeleteCollection(t *testing.T) {
	t.Parallel()
	st := newStore(t, etcdtest.Start(t), podsRes)
	f := &fixture{}
	f.srv, f.ts = serve(t, Config{Storages: []api.Storage{st}})
	a := add(t, st, "ns1", "a", map[string]string{"app": "x"})
	c := add(t, st, "ns1", "c", map[string]string{"app": "x"})
	add(t, st, "ns1", "b", map[string]string{"app": "y"})
	last := add(t, st, "ns2", "d", map[string]string{"app": "x"})

	f.do(t, http.MethodDelete, "/api/v1/pods?labelSelector=app%3Dx", "").expectCode(t, 405)
	wantList := `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"` + api.FormatRV(last.RV) + `"},"items":[` +
		string(a.Raw) + `,` + string(c.Raw) + `]}`
	f.do(t, http.MethodDelete, "/api/v1/namespaces/ns1/pods?labelSelector=app%3Dx&dryRun=All", "").expect(t, 200, wantList)
	f.do(t, http.MethodDelete, "/api/v1/namespaces/ns1/pods?labelSelector=app%3Dx",
		`{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"]}`).expect(t, 200, wantList)
	f.do(t, http.MethodDelete, "/api/v1/namespaces/ns1/pods?labelSelector=app%3Dx",
		`{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}`).expect(t, 200,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"`+api.FormatRV(last.RV)+`"},"items":[`+
			string(a.Raw)+`,`+string(c.Raw)+`]}`)
	got := f.do(t, http.MethodGet, "/api/v1/pods", "")
	for _, n := range []string{`"name":"a"`, `"name":"c"`} {
		if strings.Contains(got.body, n) {
			t.Errorf("%s was not deleted: %s", n, got.body)
		}
	}
	if !strings.Contains(got.body, `"name":"b"`) || !strings.Contains(got.body, `"name":"d"`) {
		t.Errorf("b and d must stay: %s", got.body)
	}
	f.do(t, http.MethodDelete, "/api/v1/namespaces/ns1/pods?labelSelector=app%3Dx", "").expect(t, 200,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"`+api.FormatRV(last.RV+2)+`"},"items":[]}`)
}
