package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, CertReloader looks at its files.
const certCheckInterval = time.Second

// CertReloader serves a certificate and key from files (--tls-cert-file,
// --tls-private-key-file) and reloads them when they change: on a
// handshake, at most once per second, it compares the files' modification
// times and sizes with those last loaded. A pair that does not load (say,
// half rewritten) is logged and the previous one kept until the next look.
// Safe for concurrent use.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu sync.Mutex
	// cert, stamp and checked are guarded by mu: the certificate served,
	// the files' state it was loaded from and when they were last looked at.
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

// NewCertReloader loads the pair once (an error names the file at fault);
// log receives reload failures (nil discards them).
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	stamp, err := r.fileStamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert-file/--tls-private-key-file: %w", err)
	}
	r.cert, r.stamp, r.checked = &cert, stamp, time.Now()
	return r, nil
}

// fileStamp describes both files' modification times and sizes.
func (r *CertReloader) fileStamp() (string, error) {
	stamp := ""
	for _, f := range []string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%d/%d;", st.ModTime().UnixNano(), st.Size())
	}
	return stamp, nil
}

// GetCertificate is the tls.Config hook: the current certificate, reloaded
// first when due and the files changed.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= certCheckInterval {
		r.checked = now
		r.reloadLocked()
	}
	return r.cert, nil
}

// reloadLocked loads the pair when the files' stamp changed; r.mu is held.
func (r *CertReloader) reloadLocked() {
	stamp, err := r.fileStamp()
	if err != nil || stamp == r.stamp {
		if err != nil {
			r.log.Warn("serving certificate not reloaded", "err", err)
		}
		return
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Warn("serving certificate not reloaded", "cert", r.certFile, "err", err)
		return
	}
	r.cert, r.stamp = &cert, stamp
	r.log.Info("serving certificate reloaded", "cert", r.certFile)
}

// ServingTLSConfig is the TLS configuration of both frontends: TLS 1.2 or
// later, the reloader's certificate, HTTP/2 offered before HTTP/1.1, and
// client certificates requested (not required; verified by Authentication)
// when clientAuth is set.
func ServingTLSConfig(r *CertReloader, clientAuth bool) *tls.Config {
	c := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
	if clientAuth {
		c.ClientAuth = tls.RequestClientCert
	}
	return c
}
