package app

import (
	"crypto/tls"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/watchcached/watchcached/etcdstore"
)

// Keepalive of the etcd clients' connections, kube-apiserver's values: a
// connection that carries nothing back for etcdKeepaliveTime is pinged,
// and dropped (then redialled, the caches' watches resumed from their
// revisions) when the ping gets no answer within etcdKeepaliveTimeout. So
// a replica whose TCP path to etcd went dead without a reset catches up
// by itself within about 40 s instead of lagging until a restart.
const (
	etcdKeepaliveTime    = 30 * time.Second
	etcdKeepaliveTimeout = 10 * time.Second
)

// newEtcdClient is one etcd client on the daemon's endpoints.
func (d *Daemon) newEtcdClient(tlsCfg *tls.Config) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:            d.EtcdEndpoints,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    etcdKeepaliveTime,
		DialKeepAliveTimeout: etcdKeepaliveTimeout,
		TLS:                  tlsCfg,
		Logger:               zap.NewNop(),
	})
}

// connectEtcdClients creates the storages' client and, as kube-apiserver
// does, a second one for the health probes (B241). The probes then measure
// etcd's revision on connections of their own: a data connection that
// stalls (a stuck TCP path, a member that stopped streaming) shows as
// cache lag on /readyz while etcd itself answers, instead of hiding the
// lag behind a failing etcd probe that stops the revision samples.
func (d *Daemon) connectEtcdClients(tlsCfg *tls.Config) error {
	var err error
	if d.client, err = d.newEtcdClient(tlsCfg); err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	if d.healthClient, err = d.newEtcdClient(tlsCfg); err != nil {
		return fmt.Errorf("etcd health client: %w", err)
	}
	return nil
}

// healthRevisionSource is what the probes ask for etcd's current revision:
// a store of the first resource on the health client (it opens no watch).
func (d *Daemon) healthRevisionSource() (*etcdstore.Store, error) {
	s, err := etcdstore.New(etcdstore.Config{
		Client:         d.healthClient,
		Resource:       d.resources[0],
		Prefix:         d.cfg.EtcdPrefix,
		Logger:         d.log.With("resource", d.resources[0].GroupResource(), "component", "health"),
		RequestMetrics: d.etcdMetrics,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd health probe: %w", err)
	}
	d.closers = append(d.closers, s.Close)
	return s, nil
}
