package server

import (
	"net/http"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// TestDiscovery_ShortNamesAndCategories: a resource's short names and
// categories are listed in its APIResourceList entry where kube-apiserver
// puts them (after verbs), and omitted for a resource without any.
func TestDiscovery_ShortNamesAndCategories(t *testing.T) {
	t.Parallel()
	e := etcdtest.Start(t)
	pods := *podsRes
	pods.ShortNames, pods.Categories = []string{"po"}, []string{"all"}
	_, ts := serve(t, Config{Storages: []api.Storage{newStore(t, e, &pods), newStore(t, e, nodesRes)}, Logger: quietLog})
	f := &fixture{ts: ts}
	verbs := `"verbs":["create","delete","deletecollection","get","list","patch","update","watch"]`
	f.do(t, http.MethodGet, "/api/v1", "").expect(t, 200, `{"kind":"APIResourceList","groupVersion":"v1","resources":[`+
		`{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod",`+verbs+`,"shortNames":["po"],"categories":["all"]},`+
		`{"name":"nodes","singularName":"node","namespaced":false,"kind":"Node",`+verbs+`}]}`)
}
