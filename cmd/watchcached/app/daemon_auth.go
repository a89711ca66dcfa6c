package app

import (
	"crypto/tls"

	"github.com/watchcached/watchcached/server"
)

// loadAuth loads the serving certificate, the authenticators and the
// authorization policy, and warns
// about what serves without protection.
func (d *Daemon) loadAuth() error {
	a := &d.cfg.Auth
	if a.TLSCertFile != "" {
		r, err := server.NewCertReloader(a.TLSCertFile, a.TLSPrivateKeyFile, d.log)
		if err != nil {
			return err
		}
		d.certs = r
	}
	var err error
	if d.authn, err = a.authentication(d.log); err != nil {
		return err
	}
	if d.authz, err = a.authorizer(d.log); err != nil {
		return err
	}
	switch {
	case d.authn == nil && a.InsecureAllowAnonymous:
		d.log.Warn("serving without authentication: anyone who reaches the listen addresses can read and write every object (--insecure-allow-anonymous)")
	case d.authn != nil && d.certs == nil:
		d.log.Warn("bearer tokens are accepted over plain text: give --tls-cert-file and --tls-private-key-file")
	}
	return nil
}

// tlsConfig is a fresh serving TLS configuration (each server owns one);
// nil without TLS. Client certificates are requested when --client-ca-file
// is given.
func (d *Daemon) tlsConfig() *tls.Config {
	if d.certs == nil {
		return nil
	}
	return server.ServingTLSConfig(d.certs, d.authn != nil && d.authn.ClientCAs != nil)
}
