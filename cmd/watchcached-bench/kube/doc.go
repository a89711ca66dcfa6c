// Package kube is the benchmark's minimal client of the Kubernetes REST
// API over net/http: GET of one object, LIST (whole or paged), and WATCH
// streams read line by line, with TLS, client certificates and bearer
// tokens. It speaks to any server with that API (watchcached,
// kube-apiserver), so one run can measure both on the same workload.
//
// It is not client-go: it decodes only what the measurements need (the
// type and resourceVersion of a watch event, a list's continue token) and
// throws the rest away unread, so the client spends as little of the
// shared CPU as it can.
package kube
