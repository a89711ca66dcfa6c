package upstream

import (
	"context"
	"fmt"

	"github.com/watchcached/watchcached/api"
)

// Writes are not carried out by a Source: over HTTP the server forwards
// them to the upstream itself (--write-mode=forward, with the caller
// impersonated), so the caller gets the upstream's own answer, and the
// change comes back through the watch like any other.

func (s *Source) refused(action string) error {
	return &api.Error{Err: api.ErrMethodNotAllowed, Group: s.res.Group, Kind: s.res.Resource,
		Message: fmt.Sprintf("%s is not supported on resources of kind %q by this server: it follows an upstream API server; write to the upstream (over HTTP, writes are forwarded to it)",
			action, s.res.GroupResource())}
}

// Create is refused (ErrMethodNotAllowed).
func (s *Source) Create(context.Context, string, []byte) (*api.Object, error) {
	return nil, s.refused("create")
}

// Update is refused (ErrMethodNotAllowed).
func (s *Source) Update(context.Context, string, string, []byte) (*api.Object, error) {
	return nil, s.refused("update")
}

// Patch is refused (ErrMethodNotAllowed).
func (s *Source) Patch(context.Context, string, string, api.Patch) (*api.Object, error) {
	return nil, s.refused("patch")
}

// PatchWithHint is refused (ErrMethodNotAllowed).
func (s *Source) PatchWithHint(context.Context, string, string, api.Patch, *api.Object) (*api.Object, error) {
	return nil, s.refused("patch")
}

// Delete is refused (ErrMethodNotAllowed).
func (s *Source) Delete(context.Context, string, string, api.Preconditions) (*api.Object, error) {
	return nil, s.refused("delete")
}

// DeleteCollection is refused (ErrMethodNotAllowed).
func (s *Source) DeleteCollection(context.Context, api.ListOptions, api.Preconditions) (*api.List, error) {
	return nil, s.refused("deletecollection")
}

// DeleteCorrupt is refused (ErrMethodNotAllowed): the upstream serves no
// corrupt object.
func (s *Source) DeleteCorrupt(context.Context, string, string) error {
	return s.refused("delete")
}

// UpdateStatus is refused (ErrMethodNotAllowed).
func (s *Source) UpdateStatus(context.Context, string, string, []byte) (*api.Object, error) {
	return nil, s.refused("update")
}

// PatchStatusWithHint is refused (ErrMethodNotAllowed).
func (s *Source) PatchStatusWithHint(context.Context, string, string, api.Patch, *api.Object) (*api.Object, error) {
	return nil, s.refused("patch")
}
