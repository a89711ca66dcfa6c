// Package replicas tests several watchcached replicas on one 3-member
// embedded etcd cluster (issue 16): clients that move between replicas on
// every request never see their view go backwards, a replica can be
// closed and started again while they read, and a replica whose etcd
// watch stalls (through a loopback TCP proxy the tests control) fails its
// cache lag check on /readyz and passes it again once the stream flows.
// Everything is real: embedded etcd, in-process daemons, HTTP on
// loopback. There is no production code here.
package replicas
