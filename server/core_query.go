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
}

func (q *query) getOptions() (api.GetOptions, error) {
	o := api.GetOptions{ResourceVersion: q.resourceVersion}
	return o, o.Validate()
}

// listOptions checks the query of a list of req.
func (q *query) listOptions(req *request) (api.ListOptions, error) {
	o := api.ListOptions{
		Namespace:            req.namespace,
		ResourceVersion:      q.resourceVersion,
		ResourceVersionMatch: q.resourceVersionMatch,
		Limit:                q.limit,
		Continue:             q.continueToken,
		SendInitialEvents:    q.sendInitialEvents,
	}
	if o.Continue != "" {
		if _, _, err := api.DecodeContinue(o.Continue); err != nil {
			return o, err
		}
	}
	var err error
	if o.Predicate, err = q.predicate(req); err != nil {
		return o, err
	}
	if err := q.checkTimeout(); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// watchOptions checks the query of a watch of req. A watch of one object
// (over HTTP, a GET of a name with watch=true) selects the name with a
// field selector.
func (q *query) watchOptions(req *request) (api.WatchOptions, error) {
	o := api.WatchOptions{
		Namespace:            req.namespace,
		ResourceVersion:      q.resourceVersion,
		ResourceVersionMatch: q.resourceVersionMatch,
		SendInitialEvents:    q.sendInitialEvents,
		AllowWatchBookmarks:  q.allowWatchBookmarks,
	}
	var err error
	if o.Predicate, err = q.predicate(req); err != nil {
		return o, err
	}
	if req.name != "" {
		name := fields.OneTermEqualSelector("metadata.name", req.name)
		if o.Predicate.Field == nil {
			o.Predicate.Field = name
		} else {
			o.Predicate.Field = fields.AndSelectors(o.Predicate.Field, name)
		}
	}
	if err := q.checkTimeout(); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func (q *query) predicate(req *request) (api.Predicate, error) {
	return api.ParsePredicate(q.labelSelector, q.fieldSelector, req.entry.res.SelectableFields)
}

func (q *query) checkTimeout() error {
	if q.timeoutSeconds < 0 {
		return api.NegativeParam("timeoutSeconds", q.timeoutSeconds)
	}
	return nil
}
