// Package testkit is what the project's tests share: the pods resource
// and its JSON, renderings of watch events for exact comparisons, readers
// of watch streams with deadlines, an etcd store over a test etcd, a gRPC
// dial, test certificates, a TokenReview/SubjectAccessReview server
// standing in for kube-apiserver's review APIs, and a goleak check for
// TestMain that waits a bounded time for connections being closed. It is for tests only
// (internal to the module) and holds no state of its own outside what it
// returns.
package testkit
