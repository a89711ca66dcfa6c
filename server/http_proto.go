package server

import (
	"fmt"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/kubeproto"
)

// Responses in Kubernetes protobuf (negotiate; the wire forms are
// api/kubeproto's). An object's protobuf is computed once from its JSON
// and kept with the object (api.Object.Encoded), so the store, snapshots,
// the event ring, every list and every watcher share it as they share the
// JSON; what a response adds around it (envelope, list metadata, watch
// frame) is a few bytes.

// protoEncoder is the one alternative encoding the server keeps with
// objects.
var protoEncoder api.Encoder = kubeproto.Encoder{}

// errEncoding ends a protobuf watch whose object did not encode (after an
// ERROR event saying so).
var errEncoding = fmt.Errorf("%w: the object does not encode as protobuf", api.ErrInternal)

// writeObject answers one object with code, in the request's format.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, req *request, code int, obj *api.Object) {
	if req.wire != wireProtobuf {
		writeBody(w, r, code, obj.Raw)
		return
	}
	raw, err := obj.Encoded(protoEncoder)
	if err != nil {
		writeError(w, s.log, fmt.Errorf("%w: %w", errEncoding, err), req)
		return
	}
	res := req.entry.res
	buf := getBuf()
	defer putBuf(buf)
	buf.Grow(kubeproto.EnvelopeLen(res.GroupVersion(), res.Kind, len(raw)))
	buf.Write(kubeproto.AppendEnvelopeHead(buf.AvailableBuffer(), res.GroupVersion(), res.Kind, len(raw)))
	buf.Write(raw)
	buf.Write(kubeproto.EnvelopeTail)
	writeBodyAs(w, r, code, kubeproto.MediaType, buf.Bytes())
}

// writeProtoList writes list as the resource's <Kind>List in protobuf in
// two walks: the first encodes the items (each once per object, kept with
// it) and adds up their sizes, which the list's envelope states before
// them; the second writes them one by one through a streamWriter, as
// writeList does for JSON. The length is always known (Content-Length);
// a list of gzipMinBytes or more is gzip-compressed when the client
// accepts it.
func (s *Server) writeProtoList(w http.ResponseWriter, r *http.Request, req *request, list *api.List, deadline time.Time) {
	itemsLen := 0
	for o := range list.All() {
		raw, err := o.Encoded(protoEncoder)
		if err != nil {
			writeError(w, s.log, fmt.Errorf("%w: %w", errEncoding, err), req)
			return
		}
		itemsLen += kubeproto.ItemLen(len(raw))
	}
	res := req.entry.res
	m := kubeproto.ListMeta{ResourceVersion: list.RV, Continue: list.Continue, RemainingItemCount: list.RemainingItemCount}
	total := kubeproto.ListLen(res.GroupVersion(), res.ListKind(), m, itemsLen)
	h := w.Header()
	h.Set("Content-Type", kubeproto.MediaType)
	gz := total >= gzipMinBytes && acceptsGzip(r)
	if gz {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	} else {
		h.Set("Content-Length", fmt.Sprint(total))
	}
	w.WriteHeader(http.StatusOK)
	sw := newStreamWriter(w, deadline, s.cfg.SlowClientTimeout)
	if !gz {
		writeProtoItems(sw, res, m, itemsLen, list)
		_ = sw.close()
		return
	}
	s.writeGzip(sw, r, req, list, "protobuf", func(out io.Writer) { writeProtoItems(out, res, m, itemsLen, list) })
	_ = sw.close()
}

// writeProtoItems writes the list document whose items were encoded
// already, stopping at out's first error.
func writeProtoItems(out io.Writer, res *api.Resource, m kubeproto.ListMeta, itemsLen int, list *api.List) {
	var scratch [256]byte
	if _, err := out.Write(kubeproto.AppendListHead(scratch[:0], res.GroupVersion(), res.ListKind(), m, itemsLen)); err != nil {
		return
	}
	for o := range list.All() {
		raw, _ := o.Encoded(protoEncoder) // kept from the first walk
		if _, err := out.Write(kubeproto.AppendItemHead(scratch[:0], len(raw))); err != nil {
			return
		}
		if _, err := out.Write(raw); err != nil {
			return
		}
	}
	_, _ = out.Write(kubeproto.EnvelopeTail)
}

// writeProtoEvent writes one watch frame: the head, the object's shared
// protobuf, the envelope's tail (no copy of the object per watcher); a
// bookmark is encoded whole. n is the object's size, for the encoder's
// deadline bookkeeping.
func writeProtoEvent(w io.Writer, res *api.Resource, ev api.WatchEvent) (n int, err error) {
	var raw []byte
	if ev.Type == api.Bookmark {
		raw, err = kubeproto.BookmarkRaw(schema.GroupVersion{Group: res.Group, Version: res.Version}, res.Kind, fmt.Sprint(ev.RV), ev.InitialEventsEnd)
	} else {
		raw, err = ev.Object.Encoded(protoEncoder)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errEncoding, err)
	}
	var scratch [128]byte
	if _, err := w.Write(kubeproto.AppendEventHead(scratch[:0], string(ev.Type), res.GroupVersion(), res.Kind, len(raw))); err != nil {
		return 0, err
	}
	if _, err := w.Write(raw); err != nil {
		return 0, err
	}
	_, err = w.Write(kubeproto.EnvelopeTail)
	return len(raw), err
}

// appendProtoErrorEvent frames the ERROR event of st.
func appendProtoErrorEvent(b []byte, st *metav1.Status) []byte {
	raw, err := kubeproto.Marshal(st)
	if err != nil {
		raw, _ = kubeproto.Marshal(internalErrorStatus())
	}
	return kubeproto.AppendEventFrame(b, string(api.ErrorEvent), "v1", "Status", raw)
}
