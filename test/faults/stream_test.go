package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// endKind is how a watch stream or list request ended.
type endKind int

const (
	endClean   endKind = iota // EOF: timeout, server shutdown
	endDropped                // the connection failed: resume like client-go
	endRetry                  // refused before the stream started (429, 503, 504...): retry
	endExpired                // 410 Expired: relist
	endBad                    // anything else: a violation
)

// item is one thing a watcher received: an event or a bookmark.
type item struct {
	bookmark bool
	rv       uint64
	text     string // render() of an event
}

// stream is one open watch, read by one goroutine.
type stream interface {
	// next returns the next item, or how the stream ended (with detail).
	next() (*item, endKind, string)
	close()
}

// frontend is watchcached's HTTP or gRPC API as a client sees it.
type frontend interface {
	name() string
	// list is a consistent LIST (resourceVersion unset) of f.
	list(ctx context.Context, f filter) (rv uint64, items []*obj, end endKind, detail string)
	// watch starts a watch of f from rv with bookmarks.
	watch(ctx context.Context, f filter, rv uint64, timeoutSeconds int) (stream, endKind, string)
}

// httpFrontend talks to watchcached's HTTP API.
type httpFrontend struct {
	base string
	hc   *http.Client
}

func (h *httpFrontend) name() string { return "http" }

func (h *httpFrontend) url(f filter, q url.Values) string {
	path := h.base + "/api/v1/"
	if f.ns != "" {
		path += "namespaces/" + f.ns + "/"
	}
	if s := f.labelSelector(); s != "" {
		q.Set("labelSelector", s)
	}
	if s := f.fieldSelector(); s != "" {
		q.Set("fieldSelector", s)
	}
	return path + f.res + "?" + q.Encode()
}

type wireStatus struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// classify is how a non-200 answer ends a request.
func classify(code int, body []byte) (endKind, string) {
	var st wireStatus
	_ = json.Unmarshal(body, &st)
	detail := fmt.Sprintf("HTTP %d %s: %s", code, st.Reason, st.Message)
	switch {
	case code == http.StatusGone && st.Reason == "Expired":
		return endExpired, detail
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout ||
		code == http.StatusInternalServerError && st.Reason == "InternalError":
		return endRetry, detail
	}
	return endBad, detail
}

func (h *httpFrontend) list(ctx context.Context, f filter) (uint64, []*obj, endKind, string) {
	return h.listQuery(ctx, f, url.Values{})
}

// listQuery is a LIST of f with the given query parameters.
func (h *httpFrontend) listQuery(ctx context.Context, f filter, q url.Values) (uint64, []*obj, endKind, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url(f, q), nil)
	resp, err := h.hc.Do(req)
	if err != nil {
		return 0, nil, endDropped, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, endDropped, err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		end, detail := classify(resp.StatusCode, body)
		return 0, nil, end, detail
	}
	var l struct {
		Metadata struct{ ResourceVersion string }
		Items    []wireObject
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return 0, nil, endBad, fmt.Sprintf("list: %v", err)
	}
	rv, err := strconv.ParseUint(l.Metadata.ResourceVersion, 10, 64)
	if err != nil {
		return 0, nil, endBad, fmt.Sprintf("list RV %q", l.Metadata.ResourceVersion)
	}
	var items []*obj
	for i := range l.Items {
		o, err := fromWire(f.res, &l.Items[i])
		if err != nil {
			return 0, nil, endBad, err.Error()
		}
		items = append(items, o)
	}
	return rv, items, endClean, ""
}

func (h *httpFrontend) watch(ctx context.Context, f filter, rv uint64, timeout int) (stream, endKind, string) {
	q := url.Values{"watch": {"1"}, "resourceVersion": {api.FormatRV(rv)}, "allowWatchBookmarks": {"true"},
		"timeoutSeconds": {strconv.Itoa(timeout)}}
	ctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url(f, q), nil)
	resp, err := h.hc.Do(req)
	if err != nil {
		cancel()
		return nil, endDropped, err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		end, detail := classify(resp.StatusCode, body)
		return nil, end, detail
	}
	return &httpStream{res: f.res, body: resp.Body, dec: json.NewDecoder(resp.Body), cancel: cancel}, endClean, ""
}

type httpStream struct {
	res    string
	body   io.ReadCloser
	dec    *json.Decoder
	cancel context.CancelFunc
}

func (s *httpStream) next() (*item, endKind, string) {
	var ev struct {
		Type   string
		Object json.RawMessage
	}
	if err := s.dec.Decode(&ev); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, endClean, "EOF"
		}
		return nil, endDropped, err.Error()
	}
	switch ev.Type {
	case "ERROR":
		var st wireStatus
		_ = json.Unmarshal(ev.Object, &st)
		detail := fmt.Sprintf("ERROR event %d %s: %s", st.Code, st.Reason, st.Message)
		if st.Code == http.StatusGone && st.Reason == "Expired" {
			return nil, endExpired, detail
		}
		return nil, endBad, detail
	case "ADDED", "MODIFIED", "DELETED", "BOOKMARK":
	default:
		return nil, endBad, fmt.Sprintf("event type %q", ev.Type)
	}
	var w wireObject
	if err := json.Unmarshal(ev.Object, &w); err != nil {
		return nil, endBad, fmt.Sprintf("%s event: %v", ev.Type, err)
	}
	rv, err := strconv.ParseUint(w.Metadata.ResourceVersion, 10, 64)
	if err != nil {
		return nil, endBad, fmt.Sprintf("%s event RV %q", ev.Type, w.Metadata.ResourceVersion)
	}
	if ev.Type == "BOOKMARK" {
		return &item{bookmark: true, rv: rv}, 0, ""
	}
	o, err := fromWire(s.res, &w)
	if err != nil {
		return nil, endBad, err.Error()
	}
	return &item{rv: rv, text: render(ev.Type, o, rv)}, 0, ""
}

func (s *httpStream) close() { s.cancel(); s.body.Close() }

// grpcFrontend talks to watchcached's gRPC API.
type grpcFrontend struct{ c *client.Client }

func (g *grpcFrontend) name() string { return "grpc" }

// classifyErr is how an error of an API call ends it.
func classifyErr(err error) (endKind, string) {
	var ae *api.Error
	switch {
	case errors.Is(err, api.ErrExpired):
		return endExpired, err.Error()
	case errors.Is(err, api.ErrNotReady), errors.Is(err, api.ErrUnavailable), errors.Is(err, api.ErrTimeout),
		errors.Is(err, api.ErrTooLargeRV):
		return endRetry, err.Error()
	case errors.As(err, &ae):
		return endBad, err.Error()
	}
	return endDropped, err.Error() // transport: the daemon restarts, ...
}

func (g *grpcFrontend) list(ctx context.Context, f filter) (uint64, []*obj, endKind, string) {
	resp, err := g.c.List(ctx, &pb.ListRequest{Resource: &pb.Resource{Version: "v1", Resource: f.res}, Namespace: f.ns,
		LabelSelector: f.labelSelector(), FieldSelector: f.fieldSelector()})
	if err != nil {
		end, detail := classifyErr(err)
		return 0, nil, end, detail
	}
	var items []*obj
	for _, b := range resp.GetItems() {
		o, err := decodeObj(f.res, b)
		if err != nil {
			return 0, nil, endBad, err.Error()
		}
		items = append(items, o)
	}
	return resp.GetResourceVersion(), items, endClean, ""
}

func (g *grpcFrontend) watch(ctx context.Context, f filter, rv uint64, timeout int) (stream, endKind, string) {
	w, err := g.c.Watch(ctx, &pb.WatchRequest{Resource: &pb.Resource{Version: "v1", Resource: f.res}, Namespace: f.ns,
		ResourceVersion: api.FormatRV(rv), AllowWatchBookmarks: true, LabelSelector: f.labelSelector(),
		FieldSelector: f.fieldSelector(), TimeoutSeconds: int64(timeout)})
	if err != nil {
		end, detail := classifyErr(err)
		if end == endDropped {
			end = endRetry
		}
		return nil, end, detail
	}
	return &grpcStream{res: f.res, w: w}, endClean, ""
}

type grpcStream struct {
	res string
	w   *client.WatchStream
}

func (s *grpcStream) next() (*item, endKind, string) {
	ev, err := s.w.Next()
	if errors.Is(err, io.EOF) {
		return nil, endClean, "EOF"
	}
	if err != nil {
		return classifyNext(err)
	}
	if ev.Type == api.Bookmark {
		return &item{bookmark: true, rv: ev.ResourceVersion}, 0, ""
	}
	o, err := decodeObj(s.res, ev.Object)
	if err != nil {
		return nil, endBad, err.Error()
	}
	if o.resourceVersion != ev.ResourceVersion {
		return nil, endBad, fmt.Sprintf("%s: object RV %d, event RV %d", render(string(ev.Type), o, ev.ResourceVersion),
			o.resourceVersion, ev.ResourceVersion)
	}
	return &item{rv: ev.ResourceVersion, text: render(string(ev.Type), o, ev.ResourceVersion)}, 0, ""
}

func classifyNext(err error) (*item, endKind, string) {
	end, detail := classifyErr(err)
	if end == endRetry {
		end = endBad // a started stream ends with 410 or cleanly, never "not ready"
	}
	return nil, end, detail
}

func (s *grpcStream) close() { s.w.Close() }
