package server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestConnectionLimit_B203: with a bound of 2, a third connection is not
// served until one of the two open ones closes; then it is. The open and
// accepted counts follow.
func TestConnectionLimit_B203(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: f.srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(f.srv.Listener(raw, "http", 2)) }()
	t.Cleanup(func() { _ = hs.Close() })
	open := testutil.ToFloat64(f.srv.conns.open.WithLabelValues("http"))
	conns := make([]net.Conn, 3)
	readers := make([]*bufio.Reader, 3)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", raw.Addr().String()); err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
		readers[i] = bufio.NewReader(conns[i])
		fmt.Fprintf(conns[i], "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")
	}
	answered := func(i int, within time.Duration) bool {
		_ = conns[i].SetReadDeadline(time.Now().Add(within))
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	if !answered(0, 5*time.Second) || !answered(1, 5*time.Second) {
		t.Fatal("the first two connections were not served")
	}
	if answered(2, 300*time.Millisecond) {
		t.Fatal("a third connection was served over the limit of 2")
	}
	if got := testutil.ToFloat64(f.srv.conns.open.WithLabelValues("http")) - open; got != 2 {
		t.Errorf("open connections %v, want 2", got)
	}
	conns[0].Close()
	if !answered(2, 5*time.Second) {
		t.Fatal("the third connection was not served after the first closed")
	}
	if got := testutil.ToFloat64(f.srv.conns.accepted.WithLabelValues("http")); got != 3 {
		t.Errorf("accepted connections %v, want 3", got)
	}
}
