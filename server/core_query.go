package server

import (
	"k8s.io/apimachinery/pkg/fields"

	"github.com/watchcached/watchcached/api"
)

// query is what a read asks for, whichever frontend it came by: HTTP
// fills it from the URL's query (http_query.go, which refuses a malformed
// value naming its parameter), gRPC from the request message. Its methods
// yield the storage's options, checked in one place: the combinations by
// the options' own Validate (422 or 400), the rest here. A plain value.
type query struct {
	resourceVersion      string
	resourceVersionMatch string
	labelSelector        string
	fieldSelector        string
	limit                int64
	continueToken        string
	sendInitialEvents    *bool
	allowWatchBookmarks  bool
	// timeoutSeconds bounds the request (core_timeout.go); 0 means the
	// default. A list or watch refuses a negative one; a get or write,
	// which HTTP reads leniently, treats it as 0.
	timeoutSeconds int64
	// limits bound the selectors (B201); the frontend sets the server's.
	// nil checks nothing.
	limits *selectorLimits
}

func (q *query) getOptions() (api.GetOptions, error) {
	o := api.GetOptions{ResourceVersion: q.resourceVersion}
	return o, o.Validate()
}

// listOptions checks the query of a list of req.
func (q *query) listOptions(req *request) (api.ListOptions, error) {
	if q.continueToken != "" {
		if _, _, err := api.DecodeContinue(q.continueToken); err != nil {
			return api.ListOptions{}, err
		}
	}
	pred, err := q.selection(req)
	if err != nil {
		return api.ListOptions{}, err
	}
	o := api.ListOptions{Namespace: req.namespace, Limit: q.limit, Continue: q.continueToken, Predicate: pred,
		ResourceVersion: q.resourceVersion, ResourceVersionMatch: q.resourceVersionMatch, SendInitialEvents: q.sendInitialEvents}
	return o, o.Validate()
}

// watchOptions checks the query of a watch of req.
func (q *query) watchOptions(req *request) (api.WatchOptions, error) {
	pred, err := q.selection(req)
	if err != nil {
		return api.WatchOptions{}, err
	}
	o := api.WatchOptions{Namespace: req.namespace, AllowWatchBookmarks: q.allowWatchBookmarks, Predicate: pred,
		ResourceVersion: q.resourceVersion, ResourceVersionMatch: q.resourceVersionMatch, SendInitialEvents: q.sendInitialEvents}
	return o, o.Validate()
}

// selection parses the selectors of a list or watch of req and checks its
// timeoutSeconds. A request about one object (over HTTP, a GET of a name
// with watch=true) selects the name with a field selector. The selectors'
// limits (B201) are checked around the parse: their size before, their
// requirements after.
func (q *query) selection(req *request) (api.Predicate, error) {
	if err := q.limits.checkBytes(q); err != nil {
		return api.Predicate{}, err
	}
	p, err := api.ParsePredicate(q.labelSelector, q.fieldSelector, req.entry.res.SelectableFields)
	if err != nil {
		return p, err
	}
	if err := q.limits.checkRequirements(p); err != nil {
		return p, err
	}
	if req.name != "" {
		name := fields.OneTermEqualSelector("metadata.name", req.name)
		if p.Field == nil {
			p.Field = name
		} else {
			p.Field = fields.AndSelectors(p.Field, name)
		}
	}
	if q.timeoutSeconds < 0 {
		return p, api.NegativeParam("timeoutSeconds", q.timeoutSeconds)
	}
	return p, nil
}
