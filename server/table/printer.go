package table

import (
	"encoding/json"
	"errors"
	"io"
	"iter"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"

	"github.com/watchcached/watchcached/api"
)

// Printer prints the objects of one resource as Table rows: its columns
// and the function that builds an object's row template, with the
// templates kept per object (cache.go). Safe for concurrent use.
type Printer struct {
	columns []Column
	build   func(raw []byte) (row, error)
	cache   rowCache
}

// Columns are the printer's column definitions (the server prints every
// column, priority > 0 ones included, as kube-apiserver does; clients
// show those for -o wide).
func (p *Printer) Columns() []Column { return p.columns }

// Include is the includeObject option: what a row carries besides cells.
type Include string

// The includeObject values; "" is Metadata.
const (
	IncludeNone     Include = "None"
	IncludeMetadata Include = "Metadata"
	IncludeObject   Include = "Object"
)

// ErrInclude is an includeObject value that is none of the three.
var ErrInclude = errors.New("must be 'Metadata', 'Object', 'None', or empty")

// ParseInclude reads the includeObject query parameter.
func ParseInclude(v string) (Include, error) {
	switch Include(v) {
	case "", IncludeMetadata:
		return IncludeMetadata, nil
	case IncludeNone, IncludeObject:
		return Include(v), nil
	}
	return "", ErrInclude
}

// Options are one request's table options.
type Options struct {
	// Version is the meta.k8s.io version asked for: "v1" or "v1beta1".
	Version string
	Include Include
	// NoHeaders leaves the column definitions out (every watch event
	// after the first, as kube-apiserver's).
	NoHeaders bool
}

// ListMeta is a Table's list metadata.
type ListMeta struct {
	ResourceVersion    string
	Continue           string
	RemainingItemCount *int64
}

// AppendTable appends the Table of objs (a list's items, one object, or
// one watch event's object) at time now.
func (p *Printer) AppendTable(buf []byte, opts Options, objs []*api.Object, lm ListMeta, now time.Time) []byte {
	buf = p.appendHead(buf, opts, lm)
	for i, o := range objs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = p.appendRow(buf, o, opts, now)
	}
	return append(buf, "]}"...)
}

// appendHead appends a Table's JSON up to the opening of its rows.
func (p *Printer) appendHead(buf []byte, opts Options, lm ListMeta) []byte {
	buf = append(buf, `{"kind":"Table","apiVersion":"meta.k8s.io/`...)
	buf = append(buf, opts.Version...)
	buf = append(buf, `","metadata":{`...)
	buf = appendListMeta(buf, lm)
	buf = append(buf, `},"columnDefinitions":`...)
	if opts.NoHeaders {
		buf = append(buf, "null"...)
	} else {
		buf = p.appendColumns(buf)
	}
	buf = append(buf, `,"rows":[`...)
	return buf
}

func appendListMeta(buf []byte, lm ListMeta) []byte {
	sep := false
	field := func(name string) {
		if sep {
			buf = append(buf, ',')
		}
		sep = true
		buf = append(buf, '"')
		buf = append(buf, name...)
		buf = append(buf, `":`...)
	}
	if lm.ResourceVersion != "" {
		field("resourceVersion")
		buf = appendJSONString(buf, lm.ResourceVersion)
	}
	if lm.Continue != "" {
		field("continue")
		buf = appendJSONString(buf, lm.Continue)
	}
	if lm.RemainingItemCount != nil {
		field("remainingItemCount")
		buf = strconv.AppendInt(buf, *lm.RemainingItemCount, 10)
	}
	return buf
}

// appendColumns appends the column definitions, all members present as
// metav1.TableColumnDefinition encodes them.
func (p *Printer) appendColumns(buf []byte) []byte {
	buf = append(buf, '[')
	for i, c := range p.columns {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"name":`...)
		buf = appendJSONString(buf, c.Name)
		buf = append(buf, `,"type":`...)
		buf = appendJSONString(buf, c.Type)
		buf = append(buf, `,"format":`...)
		buf = appendJSONString(buf, c.Format)
		buf = append(buf, `,"description":`...)
		buf = appendJSONString(buf, c.Description)
		buf = append(buf, `,"priority":`...)
		buf = strconv.AppendInt(buf, int64(c.Priority), 10)
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

// appendRow appends o's row: cells, conditions and the object as opts
// asks (a PartialObjectMetadata, the object, or null).
func (p *Printer) appendRow(buf []byte, o *api.Object, opts Options, now time.Time) []byte {
	r := p.cache.get(o, p.build)
	buf = append(buf, `{"cells":[`...)
	for i, c := range r.cells {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = c.appendTo(buf, now)
	}
	buf = append(buf, ']')
	if r.conditions != nil {
		buf = append(buf, `,"conditions":`...)
		buf = append(buf, r.conditions...)
	}
	buf = append(buf, `,"object":`...)
	switch opts.Include {
	case IncludeNone:
		buf = append(buf, "null"...)
	case IncludeObject:
		buf = append(buf, o.Raw...)
	default:
		buf = append(buf, `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/`...)
		buf = append(buf, opts.Version...)
		buf = append(buf, `","metadata":`...)
		if r.metadata != nil {
			buf = append(buf, r.metadata...)
		} else {
			buf = append(buf, "{}"...)
		}
		buf = append(buf, '}')
	}
	return append(buf, '}')
}

// errorRow is the template of an object that does not decode into its
// kind's type: its name and age only, so a table never fails on one bad
// object; the other cells are null.
func errorRow(raw []byte, ncols int) row {
	var m struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &m)
	var om metav1.ObjectMeta
	_ = json.Unmarshal(m.Metadata, &om)
	r := row{metadata: m.Metadata, cells: make([]cell, ncols)}
	for i := range r.cells {
		r.cells[i] = null
	}
	r.cells[0] = str(om.Name)
	return r
}

// decode decodes raw into v case-sensitively, as kube-apiserver decodes,
// and returns raw's metadata JSON.
func decode(raw []byte, v any) ([]byte, error) {
	var m struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, v); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m.Metadata, nil
}

// typed builds a printer over the Go type T: each object is decoded into
// a new T and cells computes its cells.
func typed[T any](columns []Column, cells func(*T) ([]cell, []byte)) *Printer {
	return &Printer{columns: columns, build: func(raw []byte) (row, error) {
		obj := new(T)
		md, err := decode(raw, obj)
		if err != nil {
			return errorRow(raw, len(columns)), nil
		}
		c, conds := cells(obj)
		return row{cells: c, conditions: conds, metadata: md}, nil
	}}
}

// WriteTable writes the Table of objs to out as AppendTable renders it,
// row by row through one small buffer (a Table of any length costs the
// memory of one row), stopping at out's first error, which it returns.
func (p *Printer) WriteTable(out io.Writer, opts Options, objs iter.Seq[*api.Object], lm ListMeta, now time.Time) error {
	buf := make([]byte, 0, 4<<10)
	buf = p.appendHead(buf, opts, lm)
	first := true
	for o := range objs {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = p.appendRow(buf, o, opts, now)
		if len(buf) >= 2<<10 {
			if _, err := out.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "]}\n"...)
	_, err := out.Write(buf)
	return err
}
