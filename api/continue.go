package api

import (
	"encoding/base64"
	"encoding/json"
	"path"
	"strings"
)

// continueVersion is the only token version understood (B22).
const continueVersion = "meta.k8s.io/v1"

// continueToken is the JSON inside a continue token, the same shape that
// kube-apiserver hands out, so tokens move between servers.
type continueToken struct {
	V     string `json:"v"`
	RV    int64  `json:"rv"`
	Start string `json:"start"`
}

// EncodeContinue builds a continue token: base64url without padding of
// {"v":"meta.k8s.io/v1","rv":rv,"start":start}. start is the key at which
// the next page begins (by convention the last key returned followed by
// "\x00"), relative to the list's own key prefix (Resource.NamespacePrefix): a list of
// namespace ns1 holds "a\x00" for /registry/pods/ns1/a, a list of all
// namespaces "ns1/a\x00", as kube-apiserver encodes them. rv is -1 for
// "continue from the latest state" (a replacement for an expired token,
// B23). EncodeContinueKey builds one from a whole key.
func EncodeContinue(rv int64, start string) string {
	b, err := json.Marshal(continueToken{V: continueVersion, RV: rv, Start: start})
	if err != nil {
		panic(err) // three plain fields always marshal
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// EncodeContinueKey is EncodeContinue for the whole etcd key key of a list
// whose key prefix is keyPrefix (key must lie under it).
func EncodeContinueKey(rv int64, key, keyPrefix string) string {
	return EncodeContinue(rv, strings.TrimPrefix(key, keyPrefix))
}

// ContinueStartKey is the whole etcd key that a decoded start names in a
// list whose key prefix is keyPrefix: keyPrefix joined with start less one
// leading slash, as kube-apiserver joins them. A start DecodeContinue
// accepted never reaches outside keyPrefix.
func ContinueStartKey(keyPrefix, start string) string {
	return keyPrefix + strings.TrimPrefix(start, "/")
}

// DecodeContinue parses a continue token. The error wraps ErrBadRequest
// with message "invalid continue token: ..." for a bad encoding, an unknown
// version, rv 0 or below -1, an empty start, or a start that is not a clean
// path (no "..", no "//"), so a token can never reach outside its prefix.
func DecodeContinue(tok string) (rv int64, start string, err error) {
	raw, derr := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	if derr != nil {
		return 0, "", badContinue("not base64url")
	}
	var c continueToken
	if json.Unmarshal(raw, &c) != nil {
		return 0, "", badContinue("not JSON")
	}
	switch {
	case c.V != continueVersion:
		return 0, "", badContinue("unknown version")
	case c.RV == 0 || c.RV < -1:
		return 0, "", badContinue("bad resource version")
	case c.Start == "":
		return 0, "", badContinue("empty start key")
	}
	key := c.Start
	if !strings.HasPrefix(key, "/") {
		key = "/" + key
	}
	if path.Clean(key) != key {
		return 0, "", badContinue("start key is not a clean path")
	}
	return c.RV, c.Start, nil
}

func badContinue(why string) *Error {
	return BadParam("continue", "invalid continue token: %s", why)
}
