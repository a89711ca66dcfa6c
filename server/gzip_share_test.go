package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/kubeproto"
)

// TestGzipListsShareCompression_B187: identical gzip lists of one
// snapshot, concurrent and one after the other, are compressed once and
// each decompresses to the list; another selector or format is another
// compression, as is the same list once its shared copy was dropped.
func TestGzipListsShareCompression_B187(t *testing.T) {
	t.Parallel()
	objs := benchObjects(400) // ~500 KB
	srv, ts := serve(t, Config{Storages: []api.Storage{&seqStorage{res: podsRes, objs: objs}}, Logger: quietLog})
	var want bytes.Buffer
	appendList(&want, srv.table().lookup("v1", "pods"), &api.List{Items: objs, RV: 401}, 0)
	_, plainProto := protoGet(t, ts.URL+"/api/v1/pods", false)

	list := func(query, accept string) []byte {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/pods"+query, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		defer resp.Body.Close()
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Errorf("%s: %d %v: %v", query, resp.StatusCode, resp.Header, err)
			return nil
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Error(err)
		}
		return b
	}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if got := list("", ""); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("concurrent list: %d bytes, want %d", len(got), want.Len())
			}
		})
	}
	wg.Wait()
	for range 3 {
		if got := list("", ""); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("later list: %d bytes, want %d", len(got), want.Len())
		}
	}
	if n := srv.gzShares.starts.Load(); n != 1 {
		t.Errorf("%d compressions for 9 identical lists, want 1", n)
	}
	if got := list("?labelSelector=a%3Db", ""); !bytes.Equal(got, want.Bytes()) { // the test storage ignores selectors
		t.Errorf("selector list: %d bytes", len(got))
	}
	if got := list("", kubeproto.MediaType); !bytes.Equal(got, plainProto) {
		t.Errorf("protobuf list: %d bytes, want %d", len(got), len(plainProto))
	}
	srv.gzShares.forget()
	if got := list("", ""); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("list after forget: %d bytes", len(got))
	}
	if n := srv.gzShares.starts.Load(); n != 4 {
		t.Errorf("%d compressions, want 4 (json, selector, protobuf, json again)", n)
	}
}
