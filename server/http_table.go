package server

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/server/table"
)

// Server-side printing (B224-B227): a GET, LIST or watch whose Accept
// header asks for a meta.k8s.io Table (kubectl get sends
// "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
// is answered with the resource's table instead of the objects.

// tableRequest reads what a request asks for: nil when it does not ask
// for a Table (the first Accept entry the server can answer is not one),
// else its options; a bad includeObject is ErrBadRequest.
func tableRequest(r *http.Request) (*table.Options, error) {
	version := acceptedTable(r.Header.Values("Accept"))
	if version == "" {
		return nil, nil
	}
	inc, err := table.ParseInclude(r.URL.Query().Get("includeObject"))
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "Unable to convert to Table as requested: includeObject: Invalid value: %q: %v",
			r.URL.Query().Get("includeObject"), err)
	}
	return &table.Options{Version: version, Include: inc}, nil
}

// acceptedTable returns the meta.k8s.io version of the Table the Accept
// header prefers ("v1" or "v1beta1"), or "" when its first entry the
// server serves is plain JSON (or anything else it answers as JSON).
// Entries with q=0 are skipped; order otherwise decides, as clients list
// their preference first.
func acceptedTable(values []string) string {
	for _, v := range values {
		for entry := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(entry))
			if err != nil || params["q"] == "0" {
				continue
			}
			switch {
			case mt != "application/json" && mt != "*/*" && mt != "application/*":
				continue
			case params["as"] == "":
				return ""
			case params["as"] == "Table" && params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1"):
				return params["v"]
			}
		}
	}
	return ""
}

// tableContentType is the Content-Type of a Table response.
func tableContentType(opts *table.Options) string {
	return "application/json;as=Table;v=" + opts.Version + ";g=meta.k8s.io"
}

// tablePool holds table response buffers; ones that grew beyond
// maxPooledBuf are dropped.
var tablePool = sync.Pool{New: func() any { return new([]byte) }}

// writeTable answers objs as a Table with 200.
func writeTable(w http.ResponseWriter, r *http.Request, e *resourceEntry, opts *table.Options, objs []*api.Object, lm table.ListMeta) {
	bp := tablePool.Get().(*[]byte)
	b := e.printer.AppendTable((*bp)[:0], *opts, objs, lm, time.Now())
	b = append(b, '\n')
	w.Header().Set("Content-Type", tableContentType(opts))
	writeBodyAs(w, r, http.StatusOK, w.Header().Get("Content-Type"), b)
	if cap(b) <= maxPooledBuf {
		*bp = b
		tablePool.Put(bp)
	}
}

// writeTableEvent writes one watch event whose object is a Table of one
// row (B226): the column definitions come with the first event only, as
// kube-apiserver sends them; a bookmark's row is printed from the
// bookmark object.
func (e *httpEncoder) writeTableEvent(w io.Writer, re *resourceEntry, ev api.WatchEvent) error {
	obj := ev.Object
	if ev.Type == api.Bookmark {
		frame := appendBookmark(nil, re, ev)
		raw := bytes.TrimSuffix(frame[len(`{"type":"BOOKMARK","object":`):], []byte("}\n"))
		obj = &api.Object{Raw: raw, RV: ev.RV}
	}
	buf := append(make([]byte, 0, 512), `{"type":`...)
	buf = append(buf, quote(string(ev.Type))...)
	buf = append(buf, `,"object":`...)
	buf = re.printer.AppendTable(buf, *e.table, []*api.Object{obj}, table.ListMeta{ResourceVersion: api.FormatRV(obj.RV)}, time.Now())
	buf = append(buf, "}\n"...)
	e.table.NoHeaders = true
	_, err := w.Write(buf)
	return err
}
