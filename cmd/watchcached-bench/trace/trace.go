package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/watchcached/watchcached/api"
)

// Format is the version tag of the trace format written in every header.
// Readers reject any other value: a new incompatible layout gets a new tag.
const Format = "watchcached-trace/v1"

// Header is the first line of a trace.
type Header struct {
	// Format is always the constant Format.
	Format string `json:"format"`
	// Profile names the generator profile ("k8s-robustness", ...) or
	// "record" for a recorded history.
	Profile string `json:"profile"`
	// Seed is the generator's seed (0 for recorded traces).
	Seed int64 `json:"seed"`
	// Params are the profile's parameters as given, for the record.
	Params map[string]string `json:"params,omitempty"`
	// Prefix is the etcd key prefix the keys live under, e.g. "/registry".
	Prefix string `json:"prefix"`
	// Resources are the resources whose keys the ops write; the first one
	// is the trace's main resource (what replay's population watches).
	Resources []*api.Resource `json:"resources"`
	// Templates are object bodies with $-variables, by name.
	Templates map[string]string `json:"templates,omitempty"`
	// Reads are periodic reads the profile itself prescribes.
	Reads []Read `json:"reads,omitempty"`
	// Prefill is how many leading ops are the initial population: replay
	// writes them as fast as possible before it starts the clock.
	Prefill int `json:"prefill"`
	// Ops is the number of ops that follow the header.
	Ops int `json:"ops"`
	// Duration is the trace's length in microseconds after the prefill:
	// at least the last op's time; replay's readers run this long even
	// when the writes end earlier (or there are none).
	Duration int64 `json:"duration"`
}

// Length is Duration as a time.Duration.
func (h *Header) Length() time.Duration { return time.Duration(h.Duration) * time.Microsecond }

// Read is a periodic request a profile prescribes, e.g. a LIST that
// selects nothing once per second.
type Read struct {
	// Verb is "list" or "get".
	Verb string `json:"verb"`
	// PerSecond is the request rate.
	PerSecond float64 `json:"perSecond"`
	// LabelSelector and FieldSelector are passed through.
	LabelSelector string `json:"labelSelector,omitempty"`
	FieldSelector string `json:"fieldSelector,omitempty"`
	// ResourceVersion is passed through ("" is a consistent read).
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Limit pages the list when > 0.
	Limit int `json:"limit,omitempty"`
}

// OpType is what an Op does to its key.
type OpType string

// The op types.
const (
	Create OpType = "create"
	Update OpType = "update"
	Delete OpType = "delete"
)

// Op is one timed write.
type Op struct {
	// At is the offset from the start of the trace (after the prefill),
	// in microseconds; non-decreasing along a trace.
	At int64 `json:"t"`
	// Type is create, update or delete.
	Type OpType `json:"op"`
	// Key is the full etcd key, e.g. "/registry/pods/default/p-1".
	Key string `json:"key"`
	// Body is the literal object (create, update); empty for deletes and
	// for templated ops.
	Body json.RawMessage `json:"body,omitempty"`
	// Template names a body in the header's Templates.
	Template string `json:"tpl,omitempty"`
	// Vars are the template's variables ($name → value). "name" and
	// "namespace" are filled from the key when absent.
	Vars map[string]string `json:"vars,omitempty"`
	// CAS asks for optimistic concurrency: the write applies only if the
	// key's mod revision is still the one the writer last saw (update,
	// delete) or the key is absent (create). A failed compare is counted
	// as a conflict, not an error.
	CAS bool `json:"cas,omitempty"`
}

// Offset is At as a duration.
func (o *Op) Offset() time.Duration { return time.Duration(o.At) * time.Microsecond }

// Validate checks the header.
func (h *Header) Validate() error {
	if h.Format != Format {
		return fmt.Errorf("trace: format %q, want %q", h.Format, Format)
	}
	if len(h.Resources) == 0 {
		return errors.New("trace: header lists no resources")
	}
	for _, r := range h.Resources {
		if r == nil {
			return errors.New("trace: empty resource in header")
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("trace: resource %s: %w", r.Resource, err)
		}
	}
	if h.Prefix == "" || h.Prefix[0] != '/' {
		return fmt.Errorf("trace: prefix %q must start with '/'", h.Prefix)
	}
	if h.Prefill < 0 || h.Ops < 0 || h.Prefill > h.Ops {
		return fmt.Errorf("trace: prefill %d, ops %d", h.Prefill, h.Ops)
	}
	return nil
}

// Validate checks one op against the header.
func (h *Header) validateOp(o *Op) error {
	switch o.Type {
	case Create, Update:
		if (len(o.Body) == 0) == (o.Template == "") {
			return fmt.Errorf("trace: %s %s: exactly one of body and tpl", o.Type, o.Key)
		}
		if o.Template != "" {
			if _, ok := h.Templates[o.Template]; !ok {
				return fmt.Errorf("trace: %s %s: unknown template %q", o.Type, o.Key, o.Template)
			}
		}
	case Delete:
	default:
		return fmt.Errorf("trace: unknown op %q", o.Type)
	}
	if !strings.HasPrefix(o.Key, h.Prefix+"/") {
		return fmt.Errorf("trace: key %q outside prefix %q", o.Key, h.Prefix)
	}
	if o.At < 0 {
		return fmt.Errorf("trace: %s %s: negative time", o.Type, o.Key)
	}
	return nil
}

// Value is the op's object body: the literal body, or the template with
// its variables (and $name, $namespace from the key) filled in.
func (h *Header) Value(o *Op) ([]byte, error) {
	if len(o.Body) > 0 {
		return o.Body, nil
	}
	if o.Type == Delete {
		return nil, nil
	}
	tpl, ok := h.Templates[o.Template]
	if !ok {
		return nil, fmt.Errorf("trace: unknown template %q", o.Template)
	}
	ns, name := SplitKey(o.Key)
	vars := map[string]string{"name": name, "namespace": ns}
	for k, v := range o.Vars {
		vars[k] = v
	}
	return []byte(expand(tpl, vars)), nil
}

// ResourceOf returns the header resource whose key prefix holds key.
func (h *Header) ResourceOf(key string) *api.Resource {
	for _, r := range h.Resources {
		if strings.HasPrefix(key, r.Prefix(h.Prefix)) {
			return r
		}
	}
	return nil
}

// SplitKey returns the namespace and name of a key
// "<prefix>/<resource>/<ns>/<name>"; the namespace is the second-to-last
// segment, which is wrong only for cluster-scoped keys, whose callers
// ignore it.
func SplitKey(key string) (namespace, name string) {
	i := strings.LastIndexByte(key, '/')
	name = key[i+1:]
	rest := key[:max(i, 0)]
	j := strings.LastIndexByte(rest, '/')
	return rest[j+1:], name
}

// expand replaces each $var (longest names first, so $node does not eat
// $nodeName) with its value.
func expand(tpl string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	pairs := make([]string, 0, 2*len(names))
	for _, k := range names {
		pairs = append(pairs, "$"+k, vars[k])
	}
	return strings.NewReplacer(pairs...).Replace(tpl)
}

// compactBody re-encodes a literal body on one line.
func compactBody(b json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
