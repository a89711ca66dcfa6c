package server

import (
	"fmt"
	"slices"

	"github.com/watchcached/watchcached/api"
)

// Resources served besides the configured ones, which come and go while the
// server runs: the custom resources of the CRDs stored in etcd (B190). The
// resource table is an immutable value behind an atomic pointer; a change
// builds a whole new table and swaps it in, so requests never lock and
// always see either the old table or the new one. A request that found its
// storage in the old table keeps it for its whole life: a storage the
// owner removes must keep answering (or fail cleanly) until the owner
// stops it, and a watch on it ends when that storage ends its stream.

// table is the resource table in effect; load it once per request.
func (s *Server) table() *resourceTable { return s.resources.Load() }

// SetDynamicStorages replaces the dynamic storages: from its return on,
// requests and discovery see the configured storages followed by these,
// in this order, and nothing of the dynamic storages set before that is
// not in storages. A storage whose group, version and resource is
// configured or given twice, or whose resource is invalid, makes the call
// fail without changing anything. The caller stops the storages it
// removed after the call (requests already holding one finish on it).
// Safe for concurrent use; concurrent calls apply one after the other.
func (s *Server) SetDynamicStorages(storages []api.Storage) error {
	s.dynamicMu.Lock()
	defer s.dynamicMu.Unlock()
	seen := map[string]bool{}
	for _, st := range s.cfg.Storages {
		seen[gvrID(st.Resource())] = true
	}
	for i, st := range storages {
		if st == nil || st.Resource() == nil {
			return fmt.Errorf("server: dynamic storage %d has no resource", i)
		}
		r := st.Resource()
		if err := r.Validate(); err != nil {
			return fmt.Errorf("server: dynamic storage: %w", err)
		}
		if seen[gvrID(r)] {
			return fmt.Errorf("server: dynamic resource %s/%s is already served", r.GroupVersion(), r.Resource)
		}
		seen[gvrID(r)] = true
	}
	t, err := newResourceTable(slices.Concat(s.cfg.Storages, storages))
	if err != nil {
		return fmt.Errorf("server: dynamic storage: %w", err)
	}
	s.resources.Store(t)
	return nil
}

// gvrID names a resource as the table keys it: "apps/v1/deployments".
func gvrID(r *api.Resource) string { return r.GroupVersion() + "/" + r.Resource }
