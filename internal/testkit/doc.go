// Package testkit is what the project's tests share: the pods resource
// and its JSON, renderings of watch events for exact comparisons, readers
// of watch streams with deadlines, an etcd store over a test etcd, and a
// gRPC dial. It is for tests only (internal to the module) and holds no
// state of its own.
package testkit
