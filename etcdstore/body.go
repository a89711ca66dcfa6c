package etcdstore

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/watchcached/watchcached/api"
)

// A write body is handled as a generic JSON document (numbers kept as
// json.Number so nothing is rounded): writes are not the hot path, and a
// document is the natural shape for filling in server-set metadata and for
// a merge patch. The value written is json.Marshal of the document, which is
// compact, so Decode never has to re-indent it.

// document is a JSON object body and its metadata object (shared).
type document struct {
	obj map[string]any
	md  map[string]any
}

// parseObject parses a body that must be one JSON object.
func parseObject(b []byte, what string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "the %s is not valid JSON: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, api.Errorf(api.ErrBadRequest, "the %s has data after the JSON value", what)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, api.Errorf(api.ErrBadRequest, "the %s must be a JSON object", what)
	}
	return obj, nil
}

// parseBody parses an object body of a create or update into a document:
// its apiVersion and kind are checked against the resource, and its
// namespace against the request's (setNamespace).
func (s *Store) parseBody(b []byte, namespace string) (document, error) {
	obj, err := parseObject(b, "body of the request")
	if err != nil {
		return document{}, err
	}
	d, err := s.toDocument(obj)
	if err != nil {
		return document{}, err
	}
	return d, s.setNamespace(d, namespace)
}

func (s *Store) toDocument(obj map[string]any) (document, error) {
	if err := s.checkTypeMeta(obj); err != nil {
		return document{}, err
	}
	d := document{obj: obj}
	switch md := obj["metadata"].(type) {
	case nil:
		d.md = map[string]any{}
		obj["metadata"] = d.md
	case map[string]any:
		d.md = md
	default:
		return document{}, api.BadParam("metadata", "metadata must be a JSON object")
	}
	obj["apiVersion"] = s.res.GroupVersion()
	obj["kind"] = s.res.Kind
	return d, nil
}

func (s *Store) checkTypeMeta(obj map[string]any) error {
	if v, ok := obj["apiVersion"]; ok && v != s.res.GroupVersion() {
		return api.APIVersionMismatch(v, s.res.GroupVersion())
	}
	if v, ok := obj["kind"]; ok && v != s.res.Kind {
		return api.KindMismatch(v, s.res.Kind)
	}
	return nil
}

// str returns the string metadata field f ("" when absent or null).
func (d document) str(f string) (string, error) {
	switch v := d.md[f].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", api.BadParam("metadata."+f, "metadata.%s must be a string", f)
	}
}

// setNamespace checks the body's namespace against the request's and sets
// it; a cluster-scoped object never carries one.
func (s *Store) setNamespace(d document, ns string) error {
	if !s.res.Namespaced {
		delete(d.md, "namespace")
		return nil
	}
	got, err := d.str("namespace")
	if err != nil {
		return err
	}
	if got != "" && got != ns {
		return api.NamespaceMismatch()
	}
	if ns == "" {
		return api.BadParam("metadata.namespace", "a namespace is required for %s", s.res.GroupResource())
	}
	d.md["namespace"] = ns
	return nil
}

// newUID returns a random (version 4) UUID.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// nameSuffix returns n random characters from [a-z0-9] for generateName.
func nameSuffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func nowTimestamp() string { return time.Now().UTC().Format(time.RFC3339) }
