package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// replayStorage serves one watch: a fixed run of events, then the end of
// the stream. Everything else of api.Storage is absent (nil embedded).
type replayStorage struct {
	api.Storage
	res    *api.Resource
	events []api.WatchEvent
}

func (s *replayStorage) Resource() *api.Resource { return s.res }

func (s *replayStorage) Watch(context.Context, api.WatchOptions) (api.Watcher, error) {
	return &replayWatcher{events: s.events}, nil
}

type replayWatcher struct{ events []api.WatchEvent }

func (w *replayWatcher) Next(context.Context) (api.WatchEvent, error) {
	if len(w.events) == 0 {
		return api.WatchEvent{}, io.EOF
	}
	ev := w.events[0]
	w.events = w.events[1:]
	return ev, nil
}

func (w *replayWatcher) Close() {}

// flushDiscard is a discardWriter that can flush, as net/http's writer can.
type flushDiscard struct{ discardWriter }

func (*flushDiscard) Flush() {}

// BenchmarkWatchFrames measures one HTTP watch stream of 10,000 events of
// ~1 KB (every 100th a bookmark) through the handler: the stream loop and
// the frames written around the shared Raw bytes.
func BenchmarkWatchFrames(b *testing.B) {
	raw := []byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","resourceVersion":"7"},"pad":"` + strings.Repeat("x", 1000) + `"}`)
	obj := &api.Object{Raw: raw, RV: 7}
	events := make([]api.WatchEvent, 10000)
	for i := range events {
		events[i] = api.WatchEvent{Type: api.Modified, Object: obj, RV: 7}
		if i%100 == 99 {
			events[i] = api.WatchEvent{Type: api.Bookmark, RV: 7}
		}
	}
	srv, err := New(Config{Storages: []api.Storage{&replayStorage{res: podsRes, events: events}}})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "/api/v1/pods?watch=true&allowWatchBookmarks=true", nil)
	b.ReportAllocs()
	for b.Loop() {
		srv.Handler().ServeHTTP(&flushDiscard{discardWriter{h: http.Header{}}}, req)
	}
}
