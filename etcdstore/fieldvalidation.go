package etcdstore

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"

	"github.com/watchcached/watchcached/api"
)

// fieldValidation (B212), as kube-apiserver's decoder applies it to a
// built-in kind: the fields of a body (or of a patched object) that its Go
// type does not have, and the fields a body gives twice, are an error
// under Strict, a Warning each under Warn (the default) and nothing under
// Ignore; under Warn and Ignore the unknown fields are dropped, as
// decoding into the Go type drops them. Any other kind keeps its fields,
// as kube-apiserver keeps those of a custom resource that preserves
// unknown fields. Pure functions, safe for concurrent use.

// fieldStrictness checks the strict-decoding errors strict (unknown and
// duplicate fields, in kube-apiserver's words) of the object d against
// ctx's fieldValidation: under Strict the error is bad's for d; under Warn
// each becomes a warning; under Warn and Ignore the unknown fields are
// removed from d.
func fieldStrictness(ctx context.Context, d document, strict []error, bad decodeFailure) error {
	if len(strict) == 0 {
		return nil
	}
	switch api.WriteOptionsFrom(ctx).FieldValidation {
	case api.FieldValidationStrict:
		raw, _ := json.Marshal(d.obj)
		return bad(raw, runtime.NewStrictDecodingError(strict))
	case api.FieldValidationIgnore:
	default:
		for _, e := range strict {
			api.AddWarning(ctx, e.Error())
		}
	}
	for _, e := range strict {
		if p, ok := e.(interface{ FieldPath() string }); ok && strings.HasPrefix(e.Error(), "unknown field ") {
			removePath(d.obj, p.FieldPath())
		}
	}
	return nil
}

// strictErrors are the unknown and duplicate fields of raw as the
// resource's Go type sees them; none for a kind outside client-go's
// scheme, or when raw does not decode at all (validation reports that).
func (s *Store) strictErrors(raw []byte) []error {
	into, err := scheme.Scheme.New(s.gvk())
	if err != nil {
		return nil
	}
	strict, err := kjson.UnmarshalStrict(raw, into)
	if err != nil {
		return nil
	}
	return strict
}

// duplicateFields are the fields a JSON patch body gives twice (a body
// that does not parse has none: the patch reports it); prefix starts each
// message, as kube-apiserver words those of a JSON patch.
func duplicateFields(patch []byte, prefix string) []error {
	var v any
	strict, err := kjson.UnmarshalStrict(patch, &v, kjson.DisallowDuplicateFields)
	if err != nil || prefix == "" {
		return strict
	}
	for i, e := range strict {
		strict[i] = prefixed{prefix, e}
	}
	return strict
}

// prefixed is a strict error with a prefix to its message.
type prefixed struct {
	prefix string
	err    error
}

func (p prefixed) Error() string { return p.prefix + p.err.Error() }

// removePath deletes from obj the field at path, a strict-decoding path
// such as `spec.containers[0].foo` (map keys that hold dots are matched
// whole).
func removePath(obj map[string]any, path string) {
	var cur any = obj
	for path != "" {
		switch v := cur.(type) {
		case map[string]any:
			key, rest := nextKey(v, path)
			if rest == "" {
				delete(v, key)
				return
			}
			cur, path = v[key], rest
		case []any:
			end := strings.IndexByte(path, ']')
			if path[0] != '[' || end < 0 {
				return
			}
			i, err := strconv.Atoi(path[1:end])
			if err != nil || i < 0 || i >= len(v) {
				return
			}
			cur, path = v[i], strings.TrimPrefix(path[end+1:], ".")
		default:
			return
		}
	}
}

// nextKey splits the key of m that path starts with from the rest of the
// path: the shortest prefix up to a '.' or '[' that m holds, or the whole
// first segment.
func nextKey(m map[string]any, path string) (key, rest string) {
	for i := 0; i < len(path); i++ {
		if path[i] != '.' && path[i] != '[' {
			continue
		}
		if _, ok := m[path[:i]]; ok {
			return path[:i], strings.TrimPrefix(path[i:], ".")
		}
	}
	return path, ""
}
