package server

import (
	"net/url"
	"strconv"

	"github.com/watchcached/watchcached/api"
)

// The URL query of a read, parsed into the frontends' neutral query
// (core_query.go). Each malformed value gives an error wrapping
// api.ErrBadRequest that names the parameter (400); the query's methods
// then check what the values mean, for HTTP and gRPC alike.

// httpQuery parses the parameters that a request of verb reads. A list
// and a watch refuse a malformed limit (which a watch checks but does not
// use), sendInitialEvents and timeoutSeconds (a watch also
// allowWatchBookmarks); any other request
// reads timeoutSeconds leniently, as kube-apiserver does, ignoring a value
// that does not parse.
func httpQuery(v url.Values, verb string) (*query, error) {
	q := &query{
		resourceVersion:      v.Get("resourceVersion"),
		resourceVersionMatch: v.Get("resourceVersionMatch"),
		labelSelector:        v.Get("labelSelector"),
		fieldSelector:        v.Get("fieldSelector"),
		continueToken:        v.Get("continue"),
	}
	if verb != verbList && verb != verbWatch {
		q.timeoutSeconds, _ = intParam(v, "timeoutSeconds")
		return q, nil
	}
	var err error
	if q.limit, err = intParam(v, "limit"); err != nil {
		return nil, err
	}
	if verb == verbWatch {
		if q.allowWatchBookmarks, err = boolParam(v, "allowWatchBookmarks"); err != nil {
			return nil, err
		}
	}
	if q.sendInitialEvents, err = optionalBoolParam(v, "sendInitialEvents"); err != nil {
		return nil, err
	}
	if q.timeoutSeconds, err = intParam(v, "timeoutSeconds"); err != nil {
		return nil, err
	}
	return q, nil
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
