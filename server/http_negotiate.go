package server

import (
	"errors"
	"net/http"

	"github.com/munnerz/goautoneg"
)

// wireFormat is the encoding of a response body to a resource request.
type wireFormat uint8

const (
	wireJSON     wireFormat = iota // application/json
	wireProtobuf                   // application/vnd.kubernetes.protobuf (api/kubeproto)
)

// errNotAcceptable answers a request whose Accept names protobuf, and no
// JSON, for a resource without a protobuf form (a custom resource): 406
// NotAcceptable with kube-apiserver's message for custom resources, which
// lists the media types of that handler.
var errNotAcceptable = errors.New("only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf")

// negotiate picks a resource response's format from Accept the way
// kube-apiserver's negotiation does: clauses by preference (q, then
// specificity: goautoneg, as kube-apiserver), the first one watchcached
// can serve wins; application/json, application/* and */* are JSON.
// Objects are protobuf only for a resource with a protobuf form
// (protobuf: a built-in kind); a Status always has one. A clause asking
// for a conversion (as=Table, as=PartialObjectMetadata...) or a media
// type watchcached does not serve (yaml, cbor, ...) is passed over, and
// when nothing is left the answer is JSON, as before negotiation existed
// (kube-apiserver would serve YAML, or answer 406); only a request that
// would get protobuf but for the resource's kind is errNotAcceptable, as
// in kube-apiserver. No Accept is JSON.
func negotiate(r *http.Request, protobuf bool) (objects, status wireFormat, err error) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return wireJSON, wireJSON, nil
	}
	objSet, statusSet, passed := false, false, false
	for _, c := range goautoneg.ParseAccept(accept) {
		f, ok := clauseFormat(c)
		if !ok {
			continue
		}
		if !statusSet {
			status, statusSet = f, true
		}
		if objSet {
			continue
		}
		if f == wireProtobuf && !protobuf {
			passed = true
			continue
		}
		objects, objSet = f, true
	}
	if !objSet && passed {
		return wireJSON, status, errNotAcceptable
	}
	return objects, status, nil
}

// clauseFormat is the format an Accept clause asks for, if watchcached
// serves it.
func clauseFormat(c goautoneg.Accept) (wireFormat, bool) {
	if c.Q <= 0 {
		return 0, false
	}
	for k := range c.Params {
		if k != "stream" && k != "pretty" && k != "charset" {
			return 0, false // a conversion or server-version option
		}
	}
	switch {
	case c.Type == "*" && c.SubType == "*", c.Type == "application" && (c.SubType == "*" || c.SubType == "json"):
		return wireJSON, true
	case c.Type == "application" && c.SubType == "vnd.kubernetes.protobuf":
		return wireProtobuf, true
	}
	return 0, false
}
