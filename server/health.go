package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/watchcached/watchcached/api"
)

// The health endpoints follow kube-apiserver's (k8s.io/apiserver
// pkg/server/healthz): /livez and /healthz say that the process serves;
// /readyz says whether this replica should get traffic. Each endpoint runs
// its checks in order:
//
//	/livez, /healthz   ping
//	/readyz            ping, Config.HealthChecks (etcd, one per cache), shutdown
//
// kube-apiserver also checks etcd in /livez and /healthz; here they stay
// process-level on purpose: restarting a cache because etcd is away loses
// the cache and does not bring etcd back.
//
// The body is "ok" on success, and every check's line on failure or with
// ?verbose ("[+]etcd ok", "[-]cache:pods failed: reason withheld", then
// "readyz check passed"/"readyz check failed"); a failure is HTTP 500. The
// reasons stay out of the body, which is public, and go to the log (debug
// level: probes come every few seconds; the checks log their transitions
// themselves). ?exclude=<name> skips a check. /readyz/<name> runs one
// check and does show its reason. The checks only read state, so a flood
// of probes costs no etcd request.

// pingCheck always passes: the process answers HTTP.
var pingCheck = api.HealthCheck("ping", func(context.Context) error { return nil })

// errShuttingDown fails /readyz once CloseWatches was called, as
// kube-apiserver's shutdown check does while it drains.
var errShuttingDown = errors.New("process is shutting down")

// healthEndpoints builds the checks of /livez, /healthz and /readyz.
func (s *Server) healthEndpoints() map[string][]api.HealthChecker {
	shutdown := api.HealthCheck("shutdown", func(context.Context) error {
		if s.stopCtx.Err() != nil {
			return errShuttingDown
		}
		return nil
	})
	checks := s.cfg.HealthChecks
	if checks == nil {
		checks = readinessChecks(s.cfg.Storages)
	}
	ready := append(append([]api.HealthChecker{pingCheck}, checks...), shutdown)
	live := []api.HealthChecker{pingCheck}
	return map[string][]api.HealthChecker{"livez": live, "healthz": live, "readyz": ready}
}

// readinessChecks are the default checks without Config.HealthChecks: one
// "cache:<resource>" per storage that implements api.Readiness.
func readinessChecks(storages []api.Storage) []api.HealthChecker {
	var checks []api.HealthChecker
	for _, st := range storages {
		if rd, ok := st.(api.Readiness); ok {
			checks = append(checks, api.HealthCheck("cache:"+st.Resource().GroupResource(), func(context.Context) error {
				if !rd.Ready() {
					return errors.New("the cache is not ready")
				}
				return nil
			}))
		}
	}
	return checks
}

// isHealthPath reports whether an escaped path is a health endpoint or one
// of its checks.
func isHealthPath(p string) bool {
	for _, e := range []string{"/livez", "/healthz", "/readyz"} {
		if p == e || strings.HasPrefix(p, e+"/") {
			return true
		}
	}
	return false
}

// serveHealth serves /<endpoint> and /<endpoint>/<check>; p is the escaped
// path.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request, p string) {
	endpoint, name, single := strings.Cut(p[1:], "/")
	checks := s.health[endpoint]
	if !single {
		s.serveHealthChecks(w, r, endpoint, checks)
		return
	}
	name, err := url.PathUnescape(name)
	i := slices.IndexFunc(checks, func(c api.HealthChecker) bool { return c.Name() == name })
	if err != nil || i < 0 {
		writeNotFound(w)
		return
	}
	if err := checks[i].Check(r.Context()); err != nil {
		http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
		return
	}
	writeText(w, http.StatusOK, "ok")
}

// serveHealthChecks runs every check of an endpoint, in kube-apiserver's
// output format.
func (s *Server) serveHealthChecks(w http.ResponseWriter, r *http.Request, endpoint string, checks []api.HealthChecker) {
	q := r.URL.Query()
	excluded := map[string]bool{}
	for _, n := range q["exclude"] {
		excluded[n] = true
	}
	var out, reasons bytes.Buffer
	var failed []string
	for _, c := range checks {
		if excluded[c.Name()] {
			delete(excluded, c.Name())
			fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.Name())
			continue
		}
		if err := c.Check(r.Context()); err != nil {
			fmt.Fprintf(&out, "[-]%s failed: reason withheld\n", c.Name())
			fmt.Fprintf(&reasons, "[-]%s failed: %v\n", c.Name(), err)
			failed = append(failed, c.Name())
			continue
		}
		fmt.Fprintf(&out, "[+]%s ok\n", c.Name())
	}
	if len(excluded) > 0 {
		fmt.Fprintf(&out, "warn: some health checks cannot be excluded: no matches for %s\n", quotedSorted(excluded))
	}
	if len(failed) > 0 {
		s.log.Debug(endpoint+" check failed", "checks", strings.Join(failed, ","), "reasons", reasons.String())
		http.Error(w, fmt.Sprintf("%s%s check failed", out.String(), endpoint), http.StatusInternalServerError)
		return
	}
	if _, verbose := q["verbose"]; !verbose {
		writeText(w, http.StatusOK, "ok")
		return
	}
	writeText(w, http.StatusOK, fmt.Sprintf("%s%s check passed\n", out.String(), endpoint))
}

// ready reports whether every /readyz check passes: the gRPC health
// service's SERVING.
func (s *Server) ready(ctx context.Context) bool {
	for _, c := range s.health["readyz"] {
		if c.Check(ctx) != nil {
			return false
		}
	}
	return true
}

// quotedSorted formats names as kube-apiserver does: sorted, quoted,
// comma-separated.
func quotedSorted(names map[string]bool) string {
	sorted := slices.Sorted(maps.Keys(names))
	for i, n := range sorted {
		sorted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(sorted, ",")
}
