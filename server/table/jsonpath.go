package table

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/jsonpath"

	"github.com/watchcached/watchcached/api"
)

// columnsPrinter prints NAME, then one column per printer column, each
// read at its JSONPath as kube-apiserver's custom resource table does: a
// string column prints the value as the JSONPath template would, the
// other types convert a JSON value of their type (a date is rendered as
// an age), and a value that is missing or of another type is null.
func columnsPrinter(pcs []api.PrinterColumn) (*Printer, error) {
	cols := []Column{nameColumn()}
	paths := make([]*jsonpath.JSONPath, len(pcs))
	for i, pc := range pcs {
		p := jsonpath.New(pc.Name)
		if err := p.Parse("{" + pc.JSONPath + "}"); err != nil {
			return nil, fmt.Errorf("printer column %q: invalid jsonPath %q: %v", pc.Name, pc.JSONPath, err)
		}
		p.AllowMissingKeys(true)
		paths[i] = p
		desc := pc.Description
		if desc == "" {
			desc = "Custom resource definition column (in JSONPath format): " + pc.JSONPath
		}
		cols = append(cols, Column{Name: pc.Name, Type: pc.Type, Format: pc.Format, Description: desc, Priority: pc.Priority})
	}
	build := func(raw []byte) (row, error) {
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return errorRow(raw, len(cols)), nil
		}
		md, _ := json.Marshal(doc["metadata"])
		name, _ := doc["metadata"].(map[string]any)["name"].(string)
		r := row{metadata: md, cells: []cell{str(name)}}
		for i, p := range paths {
			r.cells = append(r.cells, pathCell(p, pcs[i].Type, doc))
		}
		return r, nil
	}
	return &Printer{columns: cols, build: build}, nil
}

// pathCell is one printer column's cell of doc.
func pathCell(p *jsonpath.JSONPath, typ string, doc map[string]any) cell {
	res, err := p.FindResults(doc)
	if err != nil || len(res) == 0 || len(res[0]) == 0 {
		return null
	}
	v := res[0][0].Interface()
	if typ == "string" {
		var buf bytes.Buffer
		if err := p.PrintResults(&buf, []reflect.Value{reflect.ValueOf(v)}); err != nil {
			return null
		}
		return str(buf.String())
	}
	return typedCell(typ, v)
}

// typedCell converts a JSON value to a cell of an integer, number,
// boolean or date column.
func typedCell(typ string, v any) cell {
	switch typ {
	case "integer":
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				return integer(i)
			}
			if f, err := n.Float64(); err == nil {
				return integer(int64(f))
			}
		}
	case "number":
		if n, ok := v.(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				b, _ := json.Marshal(f)
				return fixedCell(b)
			}
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			return boolean(b)
		}
	case "date":
		if s, ok := v.(string); ok {
			var t metav1.Time
			if err := t.UnmarshalQueryParameter(s); err != nil {
				return str("<invalid>")
			}
			return age(t.Time)
		}
	}
	return null
}
