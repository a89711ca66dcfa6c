package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestUpstream_B176_CacheFalseFromUpstream: on a follower, a GET, LIST or
// WATCH with ?cache=false is the upstream's own answer (one request more
// on the upstream each, none for the same reads from the cache), counted
// with cache="false" on the follower; a malformed value is a 400.
func TestUpstream_B176_CacheFalseFromUpstream(t *testing.T) {
	up := startEnv(t)
	f := startFollower(t, up.url)
	const cmPath = "/api/v1/namespaces/by/configmaps"
	_, _, body := up.do(t, http.MethodGet, cmPath, "")
	rv0 := rvOf(t, body)
	code, _, body := up.do(t, http.MethodPost, cmPath, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	rv := rvOf(t, body)
	waitFor(t, "the follower's cache to hold x", func() bool {
		code, _, _ := f.do(t, http.MethodGet, cmPath+"/x?resourceVersion="+rv, "")
		return code == http.StatusOK
	}, func() string { return "no x" })

	type counts struct{ get, list, watch int }
	upCounts := func() counts {
		return counts{up.requests(t, "GET", "configmaps"), up.requests(t, "LIST", "configmaps"), up.requests(t, "WATCH", "configmaps")}
	}
	before := upCounts()
	// From the cache: the upstream is not asked.
	for _, p := range []string{cmPath + "/x?resourceVersion=0", cmPath + "?resourceVersion=0", cmPath + "?watch=1&resourceVersion=" + rv + "&timeoutSeconds=1"} {
		if code, _, body := f.do(t, http.MethodGet, p, ""); code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
	}
	if got := upCounts(); got != before {
		t.Fatalf("upstream requests for cached reads: %+v, want %+v", got, before)
	}
	// Bypassing the cache: the upstream answers each one.
	_, _, fGet := f.do(t, http.MethodGet, cmPath+"/x?cache=false", "")
	_, _, upGet := up.do(t, http.MethodGet, cmPath+"/x", "")
	if fGet != upGet {
		t.Errorf("GET ?cache=false: %s, want the upstream's %s", fGet, upGet)
	}
	if code, _, body := f.do(t, http.MethodGet, cmPath+"?cache=false&resourceVersion=0", ""); code != http.StatusOK {
		t.Fatalf("LIST ?cache=false: %d %s", code, body)
	}
	code, _, fWatch := f.do(t, http.MethodGet, cmPath+"?cache=false&watch=1&resourceVersion="+rv0+"&timeoutSeconds=1", "")
	_, _, upWatch := up.do(t, http.MethodGet, cmPath+"?watch=1&resourceVersion="+rv0+"&timeoutSeconds=1", "")
	if code != http.StatusOK || fWatch != upWatch || !contains(fWatch, `{"type":"ADDED","object":{"apiVersion":"v1","kind":"ConfigMap"`) {
		t.Errorf("WATCH ?cache=false: %d %q, want 200 and the upstream's %q", code, fWatch, upWatch)
	}
	want := counts{before.get + 2, before.list + 1, before.watch + 2} // the second GET and WATCH are the test's own
	if got := upCounts(); got != want {
		t.Errorf("upstream requests after the ?cache=false reads: %+v, want %+v", got, want)
	}
	for verb, n := range map[string]int{"GET": 1, "LIST": 1, "WATCH": 1} {
		if got := f.metric(t, "watchcached_http_requests_total", `cache="false"`, `verb="`+verb+`"`, `resource="configmaps"`); got != n {
			t.Errorf("follower %s requests with cache=\"false\": %d, want %d", verb, got, n)
		}
	}
	if got := f.metric(t, "watchcached_http_requests_total", `cache="true"`, `verb="LIST"`, `resource="configmaps"`); got != 1 {
		t.Errorf("follower LIST requests with cache=\"true\": %d, want 1", got)
	}
	code, _, body = f.do(t, http.MethodGet, cmPath+"?cache=maybe", "")
	if want := `"message":"invalid cache: \"maybe\" is not a boolean"`; code != http.StatusBadRequest || !contains(body, want) {
		t.Errorf("?cache=maybe: %d %s, want 400 with %s", code, body, want)
	}
}

// TestBypass_B177_EtcdSource: with etcd as the source, ?cache=false reads
// are the direct etcd store's answers, counted with cache="false"; reads
// of a resource without a cache are always counted so.
func TestBypass_B177_EtcdSource(t *testing.T) {
	e := startEnv(t)
	const cmPath = "/api/v1/namespaces/by/configmaps"
	code, _, body := e.do(t, http.MethodPost, cmPath, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	_, _, cached := e.do(t, http.MethodGet, cmPath+"/x", "")
	_, _, direct := e.do(t, http.MethodGet, cmPath+"/x?cache=false", "")
	if cached != direct {
		t.Errorf("GET ?cache=false: %s, want %s", direct, cached)
	}
	for c, n := range map[string]int{"true": 1, "false": 1} {
		if got := e.metric(t, "watchcached_http_requests_total", `cache="`+c+`"`, `verb="GET"`, `resource="configmaps"`); got != n {
			t.Errorf("GET requests with cache=%q: %d, want %d", c, got, n)
		}
	}
	if got := e.metric(t, "watchcached_cache_delegated_total", `resource="configmaps"`); got != 0 {
		t.Errorf("reads the cache delegated: %d, want 0 (the bypass does not go through it)", got)
	}

	// A value that does not decode is counted by every read of etcd that
	// meets it: a list from the cache reads nothing, a list with
	// ?cache=false reads etcd.
	decodeErrors := func() int { return e.metric(t, "watchcached_storage_decode_errors_total", `resource="configmaps"`) }
	if _, err := e.etcd.Put(t.Context(), "/registry/configmaps/by/bad", "not json"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cache's watch to meet the bad value", func() bool { return decodeErrors() == 1 }, func() string { return "no decode error" })
	for _, c := range []struct {
		query string
		want  int
	}{{"?resourceVersion=0", 1}, {"", 1}, {"?cache=false&resourceVersion=0", 2}, {"?cache=false", 3}} {
		if code, _, body := e.do(t, http.MethodGet, cmPath+c.query, ""); code != http.StatusOK || !contains(body, `"name":"x"`) {
			t.Fatalf("LIST %s: %d %s", c.query, code, body)
		}
		if got := decodeErrors(); got != c.want {
			t.Errorf("decode errors after LIST %s: %d, want %d", c.query, got, c.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
