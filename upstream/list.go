package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/api"
)

// listPage is a list as the upstream serves it, its items still raw.
type listPage struct {
	Metadata struct {
		ResourceVersion    string `json:"resourceVersion"`
		Continue           string `json:"continue"`
		RemainingItemCount *int64 `json:"remainingItemCount"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// listParams are the query parameters of one LIST.
type listParams struct {
	namespace, rv, match, cont string
	label, field               string
	limit                      int64
}

// listRaw sends one LIST (retried, see retry) and decodes its envelope.
func (s *Source) listRaw(ctx context.Context, p listParams) (*listPage, uint64, error) {
	var page listPage
	err := s.retry(ctx, func() error {
		r := s.request("GET", p.namespace)
		for k, v := range map[string]string{"resourceVersion": p.rv, "resourceVersionMatch": p.match,
			"continue": p.cont, "labelSelector": p.label, "fieldSelector": p.field} {
			if v != "" {
				r = r.Param(k, v)
			}
		}
		if p.rv == "" && p.match == "" && p.cont == "" {
			// A quorum read: resourceVersion="" is sent, as kube-apiserver's
			// clients do, rather than left out.
			r = r.Param("resourceVersion", "")
		}
		if p.limit > 0 {
			r = r.Param("limit", strconv.FormatInt(p.limit, 10))
		}
		body, err := raw(r.Do(ctx))
		if err != nil {
			return mapErr(ctx, err)
		}
		page = listPage{}
		if err := json.Unmarshal(body, &page); err != nil {
			return api.Errorf(api.ErrUnavailable, "upstream list of %s: %v", s.res.GroupResource(), err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	rv, err := strconv.ParseUint(page.Metadata.ResourceVersion, 10, 64)
	if err != nil || rv == 0 {
		return nil, 0, api.Errorf(api.ErrUnavailable, "upstream list of %s has resourceVersion %q", s.res.GroupResource(), page.Metadata.ResourceVersion)
	}
	return &page, rv, nil
}

// decodeItems decodes a page's items.
func (s *Source) decodeItems(items []json.RawMessage) ([]*api.Object, error) {
	out := make([]*api.Object, 0, len(items))
	for _, raw := range items {
		obj, err := s.dec.decode(raw)
		if err != nil {
			return nil, api.Errorf(api.ErrUnavailable, "%v", err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// List answers a list the cache delegates (or a ?cache=false list) with
// one LIST of the upstream.
func (s *Source) List(ctx context.Context, opts api.ListOptions) (*api.List, error) {
	if _, err := opts.Parse(); err != nil {
		return nil, err
	}
	p := listParams{namespace: opts.Namespace, rv: opts.ResourceVersion, match: opts.ResourceVersionMatch,
		cont: opts.Continue, limit: opts.Limit}
	if opts.Predicate.Label != nil {
		p.label = opts.Predicate.Label.String()
	}
	if opts.Predicate.Field != nil {
		p.field = opts.Predicate.Field.String()
	}
	page, rv, err := s.listRaw(ctx, p)
	if err != nil {
		return nil, err
	}
	items, err := s.decodeItems(page.Items)
	if err != nil {
		return nil, err
	}
	return &api.List{Items: items, RV: rv, Continue: page.Metadata.Continue, RemainingItemCount: page.Metadata.RemainingItemCount}, nil
}

// Get reads one object from the upstream.
func (s *Source) Get(ctx context.Context, namespace, name string, opts api.GetOptions) (*api.Object, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var obj *api.Object
	err := s.retry(ctx, func() error {
		r := s.request("GET", namespace).Name(name)
		if opts.ResourceVersion != "" {
			r = r.Param("resourceVersion", opts.ResourceVersion)
		}
		body, err := raw(r.Do(ctx))
		if err != nil {
			return mapErr(ctx, err)
		}
		obj, err = s.dec.decode(body)
		if err != nil {
			return api.Errorf(api.ErrUnavailable, "%v", err)
		}
		return nil
	})
	return obj, err
}

// ListAll reads every object at the upstream's current revision: one
// WatchList (see watchlist.go) or paged LISTs, the first a quorum read, the
// next ones continuing at its revision. The objects become the previous
// states of the next watch's events.
func (s *Source) ListAll(ctx context.Context, pageSize int64) ([]*api.Object, uint64, error) {
	objs, rv, err := s.listAll(ctx, pageSize)
	if err != nil {
		return nil, 0, err
	}
	latest := make(map[string]*api.Object, len(objs))
	for _, o := range objs {
		latest[o.Key] = o
	}
	s.mu.Lock()
	s.latest = latest
	s.mu.Unlock()
	return objs, rv, nil
}

func (s *Source) listAll(ctx context.Context, pageSize int64) ([]*api.Object, uint64, error) {
	s.dropPending()
	if s.useWatchList() {
		objs, rv, err := s.watchList(ctx)
		if err == nil || !errorsIsUnsupported(err) {
			return objs, rv, err
		}
		s.log.Info("the upstream does not serve WatchList; listing with paged LISTs", "err", err)
		s.watchListOff.Store(true)
	}
	return s.pagedList(ctx, pageSize)
}

// pagedList is ListAll with LISTs of pageSize.
func (s *Source) pagedList(ctx context.Context, pageSize int64) ([]*api.Object, uint64, error) {
	var objs []*api.Object
	p := listParams{limit: pageSize}
	var listRV uint64
	for {
		page, rv, err := s.listRaw(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		if listRV == 0 {
			listRV = rv
		} else if rv != listRV {
			return nil, 0, api.Errorf(api.ErrUnavailable, "upstream list of %s: page at revision %d, not %d", s.res.GroupResource(), rv, listRV)
		}
		items, err := s.decodeItems(page.Items)
		if err != nil {
			return nil, 0, err
		}
		objs = append(objs, items...)
		if page.Metadata.Continue == "" {
			return objs, listRV, nil
		}
		p = listParams{limit: pageSize, cont: page.Metadata.Continue}
	}
}

// CurrentRevision is the upstream's current revision: the resourceVersion
// of a quorum LIST of at most one object (kube-apiserver reads it from
// etcd). The Cacher shares one such request among concurrent consistent
// readers (its revision batcher).
func (s *Source) CurrentRevision(ctx context.Context) (uint64, error) {
	_, rv, err := s.listRaw(ctx, listParams{limit: 1})
	return rv, err
}

// Compacted reports whether the upstream can no longer list at revision
// rev: an exact LIST of at most one object there answers 410.
func (s *Source) Compacted(ctx context.Context, rev uint64) (bool, error) {
	_, _, err := s.listRaw(ctx, listParams{limit: 1, rv: strconv.FormatUint(rev, 10), match: api.MatchExact})
	switch {
	case err == nil:
		return false, nil
	case isExpired(err):
		return true, nil
	}
	return false, err
}

// CompactRevision returns known: an API server does not tell its
// compacted revision. The cache learns of compactions from 410s instead.
func (s *Source) CompactRevision(_ context.Context, known uint64) (uint64, error) {
	return known, nil
}

// RequestProgress does nothing: an API server's watch cannot be asked for
// a bookmark. Bookmarks come on the upstream's own schedule (about once a
// minute from kube-apiserver) and with every event.
func (s *Source) RequestProgress(context.Context) error { return nil }

func isExpired(err error) bool { return errorsIs(err, api.ErrExpired) }

// String names the source in logs.
func (s *Source) String() string { return fmt.Sprintf("upstream %s", s.res.GroupResource()) }

// raw is a response's body, or its error with the Status the upstream
// sent decoded (Result.Raw alone leaves an error answer unstructured).
func raw(res rest.Result) ([]byte, error) {
	body, err := res.Raw()
	if err != nil {
		return nil, res.Error()
	}
	return body, nil
}
