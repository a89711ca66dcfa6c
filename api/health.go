package api

import "context"

// HealthChecker is one named check of /readyz and of the gRPC health
// service, as kube-apiserver's healthz.HealthChecker is: Check returns nil
// while the condition holds and an error saying why not otherwise.
//
// Check runs on every probe, so it must be cheap and must not block on
// etcd: a check that needs a remote answer reports the result of a probe
// made in the background. It must be safe for concurrent use.
type HealthChecker interface {
	// Name is the check's name in verbose output and in /readyz/<name>,
	// e.g. "etcd" or "cache:pods". Fixed for the checker's lifetime.
	Name() string
	// Check reports the condition now; ctx is the probing request's.
	Check(ctx context.Context) error
}

// HealthCheck adapts a name and a function to a HealthChecker.
func HealthCheck(name string, check func(ctx context.Context) error) HealthChecker {
	return namedCheck{name: name, check: check}
}

type namedCheck struct {
	name  string
	check func(ctx context.Context) error
}

func (c namedCheck) Name() string                    { return c.name }
func (c namedCheck) Check(ctx context.Context) error { return c.check(ctx) }
