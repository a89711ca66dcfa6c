package server

import (
	"math"
	"net/url"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/fields"

	"github.com/watchcached/watchcached/api"
)

// Query parameter parsing. Each malformed value gives an error wrapping
// api.ErrBadRequest that names the parameter (400); option combinations
// are then checked by the options' own Validate (422 or 400), so the rules
// live in one place for HTTP and gRPC.

// listOptions parses the query of a list.
func listOptions(q url.Values, req *request) (api.ListOptions, error) {
	o := api.ListOptions{
		Namespace:            req.namespace,
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: q.Get("resourceVersionMatch"),
		Continue:             q.Get("continue"),
	}
	var err error
	if o.Limit, err = intParam(q, "limit"); err != nil {
		return o, err
	}
	if o.Continue != "" {
		if _, _, err := api.DecodeContinue(o.Continue); err != nil {
			return o, err
		}
	}
	if o.Predicate, err = predicate(q, req); err != nil {
		return o, err
	}
	if o.SendInitialEvents, err = optionalBoolParam(q, "sendInitialEvents"); err != nil {
		return o, err
	}
	if _, err := timeoutParam(q); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// watchOptions parses the query of a watch. A watch of one object (a GET
// of a name with watch=true) selects the name with a field selector.
func watchOptions(q url.Values, req *request) (api.WatchOptions, error) {
	o := api.WatchOptions{
		Namespace:            req.namespace,
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: q.Get("resourceVersionMatch"),
	}
	var err error
	if o.Predicate, err = predicate(q, req); err != nil {
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
	if o.AllowWatchBookmarks, err = boolParam(q, "allowWatchBookmarks"); err != nil {
		return o, err
	}
	if o.SendInitialEvents, err = optionalBoolParam(q, "sendInitialEvents"); err != nil {
		return o, err
	}
	if _, err := intParam(q, "limit"); err != nil {
		return o, err
	}
	if _, err := timeoutParam(q); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func getOptions(q url.Values) (api.GetOptions, error) {
	o := api.GetOptions{ResourceVersion: q.Get("resourceVersion")}
	return o, o.Validate()
}

func predicate(q url.Values, req *request) (api.Predicate, error) {
	return api.ParsePredicate(q.Get("labelSelector"), q.Get("fieldSelector"), req.entry.res.SelectableFields)
}

// timeoutParam parses timeoutSeconds; 0 when absent.
func timeoutParam(q url.Values) (time.Duration, error) {
	n, err := intParam(q, "timeoutSeconds")
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, api.BadParam("timeoutSeconds", "invalid timeoutSeconds: %d must not be negative", n)
	}
	return secondsDuration(n), nil
}

// secondsDuration converts a non-negative count of seconds to a Duration, capped
// at the largest Duration instead of overflowing into a negative one
// (which would end a watch or a request at once).
func secondsDuration(n int64) time.Duration {
	if n > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Second
}

func intParam(q url.Values, name string) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, api.BadParam(name, "invalid %s: %q is not an integer", name, s)
	}
	return n, nil
}

// boolParam parses a boolean parameter: "true", "1", "false", "0" and the
// other spellings strconv.ParseBool knows; absent or empty is false.
func boolParam(q url.Values, name string) (bool, error) {
	b, err := optionalBoolParam(q, name)
	return b != nil && *b, err
}

func optionalBoolParam(q url.Values, name string) (*bool, error) {
	vs, ok := q[name]
	if !ok || len(vs) == 0 || vs[0] == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(vs[0])
	if err != nil {
		return nil, api.BadParam(name, "invalid %s: %q is not a boolean", name, vs[0])
	}
	return &b, nil
}
