package server

import (
	"crypto/tls"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/watchcached/watchcached/internal/testkit"
)

// servedSerial is the serial number of the certificate url serves.
func servedSerial(t *testing.T, e *tlsEnv, url string) string {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool()}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.String()
}

func TestB81_TLSServingAndReload(t *testing.T) {
	e := newTLSEnv(t)
	url := e.serveTLS(t, http.HandlerFunc(whoami))
	code, proto, _ := get(t, e.client(t), url+"/x", "")
	if code != 200 || proto != "HTTP/2.0" {
		t.Fatalf("GET: %d %s, want 200 over HTTP/2.0", code, proto)
	}
	old := servedSerial(t, e, url)
	if old != e.srv.TLS.Leaf.SerialNumber.String() {
		t.Fatalf("served serial %s, want the server certificate's %s", old, e.srv.TLS.Leaf.SerialNumber)
	}

	// TLS 1.1 is refused.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(), MaxVersion: tls.VersionTLS11}}
	if _, err := (&http.Client{Transport: tr}).Get(url); err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}

	// Rewrite both files with a new certificate (a later mtime for sure):
	// it is served within a few seconds.
	next := e.ca.Server(t, "next")
	later := time.Now().Add(time.Minute)
	for _, f := range []struct {
		path string
		b    []byte
	}{{e.srv.CertFile, next.CertPEM}, {e.srv.KeyFile, next.KeyPEM}} {
		if err := os.WriteFile(f.path, f.b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.path, later, later); err != nil {
			t.Fatal(err)
		}
	}
	want := next.TLS.Leaf.SerialNumber.String()
	deadline := time.Now().Add(10 * time.Second)
	for got := servedSerial(t, e, url); got != want; got = servedSerial(t, e, url) {
		if got != old {
			t.Fatalf("served serial %s, neither old %s nor new %s", got, old, want)
		}
		if time.Now().After(deadline) {
			t.Fatal("new certificate not served within 10s")
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

func TestCertReloader_KeepsOldPairOnBadFiles(t *testing.T) {
	ca := testkit.NewCA(t, "test")
	is := ca.Server(t, "server")
	if _, err := NewCertReloader(is.CertFile, is.CertFile, nil); err == nil {
		t.Error("a certificate as key loaded")
	}
	r, err := NewCertReloader(is.CertFile, is.KeyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(is.KeyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.checked = time.Time{}
	r.mu.Unlock()
	c, err := r.GetCertificate(nil)
	if err != nil || c.Leaf.SerialNumber.Cmp(is.TLS.Leaf.SerialNumber) != 0 {
		t.Errorf("after a bad rewrite: %v %v, want the old certificate", c, err)
	}
}
