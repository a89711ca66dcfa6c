package table

import (
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Column is one column definition of a Table (metav1.TableColumnDefinition).
type Column struct {
	Name, Type, Format, Description string
	Priority                        int32
}

// cell is one cell of a row template: a fixed JSON value (fixed), or a
// string rendered at each request as before + the age of since + after
// ("<unknown>" for a zero since, without before and after).
type cell struct {
	fixed  []byte
	before string
	since  time.Time
	after  string
}

// fixedCell is a cell of a ready JSON value.
func fixedCell(json []byte) cell { return cell{fixed: json} }

// str is a string cell.
func str(s string) cell { return cell{fixed: appendJSONString(nil, s)} }

// integer is an integer cell.
func integer(n int64) cell { return cell{fixed: strconv.AppendInt(nil, n, 10)} }

// boolean is a boolean cell.
func boolean(b bool) cell { return cell{fixed: strconv.AppendBool(nil, b)} }

// null is a cell without a value.
var null = cell{fixed: []byte("null")}

// age is a cell of the human-readable time since t ("<unknown>" when t is
// zero), kube's translateTimestampSince.
func age(t time.Time) cell {
	if t.IsZero() {
		return str("<unknown>")
	}
	return cell{since: t}
}

// ageBetween is a cell of a fixed duration from a to b.
func ageBetween(a, b time.Time) cell { return str(duration.HumanDuration(b.Sub(a))) }

// appendCell appends c's JSON at now.
func (c cell) appendTo(buf []byte, now time.Time) []byte {
	if c.fixed != nil {
		return append(buf, c.fixed...)
	}
	return appendJSONString(buf, c.before+duration.HumanDuration(now.Sub(c.since))+c.after)
}

// row is the template of one object's row: its cells, its conditions and
// the object's metadata JSON (for includeObject=Metadata). Immutable once
// built.
type row struct {
	cells      []cell
	conditions []byte // the JSON array, nil for none
	metadata   []byte // a slice of the object's Raw; nil when absent
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}
