package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/server/table"
)

// TestTableList_B189_Streamed: a Table LIST larger than gzipMinBytes is
// streamed (chunked, no Content-Length), byte for byte the Table that
// AppendTable renders whole, and gzip-compressed to the same bytes when
// the client accepts gzip; a small one is sent whole with its length.
func TestTableList_B189_Streamed(t *testing.T) {
	big := benchPods(500) // ~200 KB of rows
	st := &listStorage{list: big}
	srv, err := New(Config{Storages: []api.Storage{st}, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	get := func(gzip bool) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/pods", nil)
		req.Header.Set("Accept", acceptTableV1)
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	resp, body := get(false)
	p, err := table.For(podsRes)
	if err != nil {
		t.Fatal(err)
	}
	want := p.AppendTable(nil, table.Options{Version: "v1", Include: table.IncludeMetadata}, big.Items,
		table.ListMeta{ResourceVersion: "100"}, time.Now())
	want = append(want, '\n')
	if resp.StatusCode != 200 || resp.ContentLength != -1 || resp.Header.Get("Content-Type") != "application/json;as=Table;v=v1;g=meta.k8s.io" ||
		len(body) < gzipMinBytes || !bytes.Equal(body, want) {
		t.Fatalf("streamed table: %d, length %d, %q, %d bytes (want %d, equal %v)", resp.StatusCode, resp.ContentLength,
			resp.Header.Get("Content-Type"), len(body), len(want), bytes.Equal(body, want))
	}
	resp, zbody := get(true)
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, zbody), want) {
		t.Fatalf("gzip table: %q, %d bytes", resp.Header.Get("Content-Encoding"), len(zbody))
	}
	st.list = benchPods(3)
	resp, body = get(false)
	if resp.ContentLength != int64(len(body)) || !bytes.HasPrefix(body, []byte(`{"kind":"Table"`)) {
		t.Fatalf("small table: length %d for %d bytes", resp.ContentLength, len(body))
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
