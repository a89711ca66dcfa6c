// Package compare runs the seed experiment "cache vs no cache": the same
// read workload against several targets on one etcd in one run — the
// server with its watch cache, the same server with the resource
// configured `cache: false`, clientv3 straight at etcd, and any other
// server that speaks the Kubernetes REST API — and reports each figure
// with its ratio to the cache, measured side by side.
//
// Workloads: GET of one object by a fixed number of concurrent clients
// for a fixed time (RV "" and "0"), full LIST, paginated LIST (with the
// cost of each page by its position), and watch fan-out (through
// replay). Targets run one after the other, never concurrently, so they
// do not steal each other's CPU; the machine's noise still applies to
// all, which is why the ratios, not the absolute figures, are the result.
package compare
