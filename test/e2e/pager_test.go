package e2e

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/pager"
)

// TestPager_B14_ConsistentPagesUnderWrites: client-go's pager (limit 50)
// lists 1,000 configmaps while another client keeps creating, updating and
// deleting them, at least two writes between any two pages. Every page
// carries the first page's list RV, every item's RV is ≤ it, and the items
// are exactly the state etcd holds at that revision (read with clientv3 at
// that revision): the pages form one consistent state.
func TestPager_B14_ConsistentPagesUnderWrites(t *testing.T) {
	e := startEnv(t)
	ctx := t.Context()
	const objects, ns = 1000, "pages"
	createConfigMaps(t, e, ns, objects)

	var writes atomic.Int64
	wrote := make(chan struct{}, 1) // a token per write, dropped when full
	wctx, stopWriter := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { churn(wctx, e, ns, objects, &writes, wrote) })
	defer func() {
		stopWriter()
		wg.Wait()
	}()

	for writes.Load() < 5 { // the first page's state includes some churn
		<-wrote
	}
	var pageRVs []string
	pages := 0
	p := pager.New(pager.SimplePageFunc(func(opts metav1.ListOptions) (runtime.Object, error) {
		list, err := e.cs.CoreV1().ConfigMaps("").List(ctx, opts)
		if err != nil {
			return nil, err
		}
		pages++
		pageRVs = append(pageRVs, list.ResourceVersion)
		for before := writes.Load(); writes.Load() < before+2; { // let writes land between pages
			select {
			case <-wrote:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return list, nil
	}))
	p.PageSize = 50
	obj, paginated, err := p.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stopWriter()
	wg.Wait()
	items, err := meta.ExtractList(obj)
	if err != nil {
		t.Fatal(err)
	}
	// The churn before the first page may have created or deleted a few
	// objects: the state listed is whatever etcd held at the list RV.
	if want := (len(items) + 49) / 50; !paginated || pages != want || len(items) < objects-10 {
		t.Fatalf("paginated %v: %d items in %d pages, want %d pages", paginated, len(items), pages, want)
	}
	listRV, err := strconv.ParseInt(pageRVs[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	for i, rv := range pageRVs {
		if rv != pageRVs[0] {
			t.Errorf("page %d RV %s, first page %s", i, rv, pageRVs[0])
		}
	}
	got := map[string]string{}
	for _, item := range items {
		cm := item.(*corev1.ConfigMap)
		if rv, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64); rv > listRV {
			t.Errorf("%s/%s RV %d is newer than the list RV %d", cm.Namespace, cm.Name, rv, listRV)
		}
		got[cm.Namespace+"/"+cm.Name] = cm.ResourceVersion
	}
	resp, err := e.etcd.Get(ctx, "/registry/configmaps/", clientv3.WithPrefix(), clientv3.WithRev(listRV))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, kv := range resp.Kvs {
		want[strings.TrimPrefix(string(kv.Key), "/registry/configmaps/")] = strconv.FormatInt(kv.ModRevision, 10)
	}
	if !maps.Equal(got, want) {
		t.Errorf("pager saw %d objects, etcd at %d holds %d; they differ", len(got), listRV, len(want))
	}
	if w := writes.Load(); w < 2*int64(pages-1) {
		t.Errorf("only %d writes happened during %d pages", w, pages)
	}
	t.Logf("%d pages at RV %d, %d writes during the list", pages, listRV, writes.Load())
}

// createConfigMaps creates n configmaps cm-0000... in ns with 8 writers.
func createConfigMaps(t *testing.T, e *env, ns string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				code, _, body := e.do(t, http.MethodPost, "/api/v1/namespaces/"+ns+"/configmaps",
					fmt.Sprintf(`{"metadata":{"name":"cm-%04d"},"data":{"i":"%d"}}`, i, i))
				if code != http.StatusCreated {
					t.Errorf("create cm-%04d: %d %s", i, code, body)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// churn keeps writing to the configmaps of ns until ctx ends: merge
// patches of existing ones, creates of new ones and deletes. Each write
// bumps writes and offers a token on wrote.
func churn(ctx context.Context, e *env, ns string, n int, writes *atomic.Int64, wrote chan<- struct{}) {
	rng := rand.New(rand.NewPCG(7, 7))
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for i := 0; ctx.Err() == nil; i++ {
		var method, path, body, ctype string
		switch r := rng.IntN(3); r {
		case 0:
			method, path, ctype = http.MethodPatch, fmt.Sprintf("/api/v1/namespaces/%s/configmaps/cm-%04d", ns, rng.IntN(n)), "application/merge-patch+json"
			body = fmt.Sprintf(`{"data":{"w":"%d"}}`, i)
		case 1:
			method, path, ctype = http.MethodPost, "/api/v1/namespaces/"+ns+"/configmaps", "application/json"
			body = fmt.Sprintf(`{"metadata":{"name":"new-%05d"}}`, i)
		default:
			method, path = http.MethodDelete, fmt.Sprintf("/api/v1/namespaces/%s/configmaps/cm-%04d", ns, rng.IntN(n))
		}
		req, err := http.NewRequestWithContext(ctx, method, e.url+path, strings.NewReader(body))
		if err != nil {
			return
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			return // ctx ended
		}
		resp.Body.Close()
		if resp.StatusCode < 300 {
			writes.Add(1)
			select {
			case wrote <- struct{}{}:
			default:
			}
		}
	}
}
