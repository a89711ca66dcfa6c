package etcdstore

import (
	"context"
	"errors"

	"github.com/watchcached/watchcached/api"
)

// DeleteCollection deletes every object that opts selects, one by one as
// kube-apiserver's generic registry does (B102), and returns the list it
// deleted from: the objects as listed (those with finalizers are marked,
// not removed) at the list's RV. The list is consistent and unpaged
// (opts' limit and continue are ignored); an object gone before its turn
// is skipped; the first other error ends the call, leaving the objects
// deleted so far deleted. pre applies to every object.
func (s *Store) DeleteCollection(ctx context.Context, opts api.ListOptions, pre api.Preconditions) (*api.List, error) {
	opts.Limit, opts.Continue = 0, ""
	list, err := s.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range list.Items {
		if _, err := s.Delete(ctx, o.Namespace, o.Name, pre); err != nil && !errors.Is(err, api.ErrNotFound) {
			return nil, err
		}
	}
	return list, nil
}
