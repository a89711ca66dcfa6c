package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
)

// One watch request to the upstream and the goroutine that decodes it.

// item is one decoded watch event of the upstream: an object event, a
// bookmark, or the error that ends the stream.
type item struct {
	typ        api.EventType // Added, Modified, Deleted or Bookmark
	obj        *api.Object   // nil for a bookmark
	rv         uint64        // the event's or the bookmark's RV
	initialEnd bool          // a bookmark annotated k8s.io/initial-events-end
	err        error         // set on the last item
	eof        bool          // the last item: the upstream ended the stream
}

// stream is an open watch. Its reader goroutine sends items until the
// stream ends (an item with err, then items is closed) or close is
// called. close may be called from any goroutine, more than once.
type stream struct {
	items  <-chan item
	cancel context.CancelFunc
	done   chan struct{} // closed when the reader has returned
	// rv, for the stream of a WatchList held for the next watch, is the
	// revision its initial events ended at.
	rv uint64
}

func (st *stream) close() {
	st.cancel()
	<-st.done
}

// watchParams are the query parameters of one watch.
type watchParams struct {
	namespace, rv, match, label, field string
	sendInitialEvents                  *bool
	timeoutSeconds                     int64
}

// openWatch sends a watch (always with allowWatchBookmarks) and starts its
// reader. The stream lives until ctx ends or close. An error answer
// (rather than an ERROR event) is returned as an api error.
func (s *Source) openWatch(ctx context.Context, p watchParams) (*stream, error) {
	sctx, cancel := context.WithCancel(ctx)
	r := s.request("GET", p.namespace).Param("watch", "true").Param("allowWatchBookmarks", "true").
		Param("resourceVersion", p.rv)
	for k, v := range map[string]string{"resourceVersionMatch": p.match, "labelSelector": p.label, "fieldSelector": p.field} {
		if v != "" {
			r = r.Param(k, v)
		}
	}
	if p.sendInitialEvents != nil {
		r = r.Param("sendInitialEvents", strconv.FormatBool(*p.sendInitialEvents))
	}
	if p.timeoutSeconds > 0 {
		r = r.Param("timeoutSeconds", strconv.FormatInt(p.timeoutSeconds, 10))
	}
	var body io.ReadCloser
	err := s.retry(sctx, func() error {
		var err error
		body, err = r.Stream(sctx)
		return mapErr(sctx, err)
	})
	if err != nil {
		cancel()
		return nil, err
	}
	items := make(chan item)
	st := &stream{items: items, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer close(items)
		defer body.Close()
		stop := context.AfterFunc(sctx, func() { body.Close() })
		defer stop()
		s.read(sctx, json.NewDecoder(body), items)
	}()
	return st, nil
}

// wireEvent is one event as the upstream writes it.
type wireEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// bookmarkObject is what is read of a bookmark's object.
type bookmarkObject struct {
	Metadata struct {
		ResourceVersion string            `json:"resourceVersion"`
		Annotations     map[string]string `json:"annotations"`
	} `json:"metadata"`
}

// read decodes events into items until the stream ends or ctx does.
func (s *Source) read(ctx context.Context, dec *json.Decoder, items chan<- item) {
	for {
		it := s.next(ctx, dec)
		select {
		case items <- it:
		case <-ctx.Done():
			return
		}
		if it.err != nil {
			return
		}
	}
}

// next decodes one event. A stream that ends, or breaks, is an
// ErrUnavailable item (the reader resumes from its last revision); an
// ERROR event is its Status as an api error (410 wraps ErrExpired).
func (s *Source) next(ctx context.Context, dec *json.Decoder) item {
	var ev wireEvent
	if err := dec.Decode(&ev); err != nil {
		if ctx.Err() != nil {
			return item{err: ctx.Err()}
		}
		if errors.Is(err, io.EOF) {
			return item{err: api.Errorf(api.ErrUnavailable, "upstream watch of %s closed", s.res.GroupResource()), eof: true}
		}
		return item{err: api.Errorf(api.ErrUnavailable, "upstream watch of %s broken: %v", s.res.GroupResource(), err)}
	}
	switch api.EventType(ev.Type) {
	case api.Added, api.Modified, api.Deleted:
		obj, err := s.dec.decode(ev.Object)
		if err != nil {
			return item{err: api.Errorf(api.ErrExpired, "upstream watch of %s: %v", s.res.GroupResource(), err)}
		}
		return item{typ: api.EventType(ev.Type), obj: obj, rv: obj.RV}
	case api.Bookmark:
		var b bookmarkObject
		if err := json.Unmarshal(ev.Object, &b); err != nil {
			return item{err: api.Errorf(api.ErrUnavailable, "upstream bookmark of %s: %v", s.res.GroupResource(), err)}
		}
		rv, err := strconv.ParseUint(b.Metadata.ResourceVersion, 10, 64)
		if err != nil {
			return item{err: api.Errorf(api.ErrUnavailable, "upstream bookmark of %s has resourceVersion %q", s.res.GroupResource(), b.Metadata.ResourceVersion)}
		}
		return item{typ: api.Bookmark, rv: rv, initialEnd: b.Metadata.Annotations[metav1.InitialEventsAnnotationKey] == "true"}
	case api.ErrorEvent:
		var st metav1.Status
		if err := json.Unmarshal(ev.Object, &st); err != nil || st.Code == 0 {
			return item{err: api.Errorf(api.ErrUnavailable, "upstream watch of %s: ERROR event %s", s.res.GroupResource(), ev.Object)}
		}
		if st.Code == http.StatusGone {
			st.Reason = metav1.StatusReasonExpired
		}
		return item{err: statusError(st)}
	}
	return item{err: api.Errorf(api.ErrUnavailable, "upstream watch of %s: unknown event type %q", s.res.GroupResource(), ev.Type)}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// errorsIsUnsupported reports whether a WatchList was refused as a request
// the upstream does not understand (400, 422, 405), rather than failed.
func errorsIsUnsupported(err error) bool {
	return errors.Is(err, errNoWatchList) || errors.Is(err, api.ErrInvalid) || errors.Is(err, api.ErrBadRequest) ||
		errors.Is(err, api.ErrMethodNotAllowed)
}

// errNoWatchList: the upstream's initial events did not end with the
// initial-events-end bookmark.
var errNoWatchList = fmt.Errorf("upstream: no initial-events-end bookmark")
