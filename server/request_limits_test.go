package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// hugeSelector is the reproduction: `a in (v0,...,v59999)`, about
// 600 KB.
func hugeSelector() string {
	var b strings.Builder
	b.WriteString("a in (")
	for i := range 60000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "v%d", i)
	}
	b.WriteByte(')')
	return b.String()
}

// setSelector is `a in (v0,...)` of n values.
func setSelector(n int) string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = fmt.Sprintf("v%d", i)
	}
	return "a in (" + strings.Join(vs, ",") + ")"
}

// selectorOfLen is a valid label selector of exactly n bytes (n > 20): a
// set of values, then existence terms that make up the rest.
func selectorOfLen(n int) string {
	m := 1
	for len(setSelector(m+1)) <= n-3 {
		m++
	}
	s := setSelector(m)
	for len(s) < n {
		k := min(63, n-len(s)-1)
		s += "," + strings.Repeat("k", k)
	}
	return s
}

// terms is n comma-separated requirements made by term(i).
func terms(n int, term func(i int) string) string {
	ts := make([]string, n)
	for i := range ts {
		ts[i] = term(i)
	}
	return strings.Join(ts, ",")
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestURLLimit_B200: 100 watches whose URL carries the 600 KB
// label selector are each answered at once with 400 naming the limit,
// no watch opens and the heap does not grow by their selectors (it grew
// by about 13 MB per watch before); a URL at the limit is served.
func TestURLLimit_B200(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.RequestLimits = DefaultRequestLimits })
	path := "/api/v1/pods?watch=true&labelSelector=" + url.QueryEscape(hugeSelector())
	want := status(400, "BadRequest", fmt.Sprintf("request URL too long: %d bytes, more than the limit of 65536 bytes", len(path)), "")
	before := heapInUse()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 10 {
				f.do(t, http.MethodGet, path, "").expect(t, 400, want)
			}
		})
	}
	wg.Wait()
	if grew := int64(heapInUse()) - int64(before); grew > 32<<20 {
		t.Errorf("heap grew by %d bytes", grew)
	}
	if got := testutil.ToFloat64(f.srv.rejected.WithLabelValues(limitURL)); got != 100 {
		t.Errorf("rejected{max-url-bytes} = %v, want 100", got)
	}
	if got := testutil.ToFloat64(f.srv.metrics.watchers.WithLabelValues("pods")); got != 0 {
		t.Errorf("watchers %v, want 0", got)
	}
	at := "/api/v1/pods?limit=1&x="
	at += strings.Repeat("y", 65536-len(at))
	f.do(t, http.MethodGet, at, "").expectCode(t, 200)
}

// selectorCases are the selector limits' refusals and their edges, for
// lists and watches over HTTP and gRPC alike.
var selectorCases = []struct {
	name, label, field string
	msg                string // "" for accepted
}{
	{"LabelBytes", selectorOfLen(16385), "", "invalid labelSelector: 16385 bytes, more than the limit of 16384 bytes"},
	{"LabelBytesAtLimit", selectorOfLen(16384), "", ""},
	{"FieldBytes", "", "metadata.name=" + strings.Repeat("n", 16<<10), "invalid fieldSelector: 16398 bytes, more than the limit of 16384 bytes"},
	{"LabelRequirements", terms(101, func(i int) string { return fmt.Sprintf("k%d=v", i) }), "",
		"invalid labelSelector: 101 requirements, more than the limit of 100"},
	{"LabelRequirementsAtLimit", terms(100, func(i int) string { return fmt.Sprintf("k%d", i) }), "", ""},
	{"FieldRequirements", "", terms(101, func(i int) string { return fmt.Sprintf("metadata.name!=n%d", i) }),
		"invalid fieldSelector: 101 requirements, more than the limit of 100"},
	{"OneSetIsOneRequirement", setSelector(1000), "", ""},
}

// TestSelectorLimits_B201: over HTTP (list and watch) and gRPC, a selector
// over --max-selector-bytes or --max-selector-requirements is 400
// BadRequest (gRPC INVALID_ARGUMENT) naming the parameter and the limit,
// counted by limit; one at the limit is served; 100 gRPC watches with the
// issue's 600 KB selector are refused.
func TestSelectorLimits_B201(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t, func(c *Config) { c.RequestLimits = DefaultRequestLimits })
	ctx := bg(t)
	refused := 0
	for _, c := range selectorCases {
		t.Run(c.name, func(t *testing.T) {
			q := "labelSelector=" + url.QueryEscape(c.label) + "&fieldSelector=" + url.QueryEscape(c.field)
			list := f.do(t, http.MethodGet, "/api/v1/pods?"+q, "")
			_, lerr := f.client.List(ctx, &pb.ListRequest{Resource: podsPB, LabelSelector: c.label, FieldSelector: c.field})
			ws, werr := f.client.Watch(ctx, &pb.WatchRequest{Resource: podsPB, LabelSelector: c.label, FieldSelector: c.field})
			if werr == nil {
				ws.Close()
			}
			if c.msg == "" {
				list.expectCode(t, 200)
				if code := openWatch(t, f.fixture, "/api/v1/pods?watch=true&"+q); code != 200 {
					t.Errorf("HTTP watch: %d, want 200", code)
				}
				if lerr != nil || werr != nil {
					t.Errorf("gRPC: list %v, watch %v", lerr, werr)
				}
				return
			}
			refused += 4
			want := status(400, "BadRequest", c.msg, "")
			list.expect(t, 400, want)
			f.do(t, http.MethodGet, "/api/v1/pods?watch=true&"+q, "").expect(t, 400, want)
			for what, err := range map[string]error{"list": lerr, "watch": werr} {
				if !errors.Is(err, api.ErrBadRequest) || err.Error() != c.msg {
					t.Errorf("gRPC %s: %v, want ErrBadRequest %q", what, err, c.msg)
				}
			}
		})
	}
	// The reproduction over gRPC, where no URL limit applies: 100
	// watches with the 600 KB selector are each refused before it is
	// parsed.
	huge := hugeSelector()
	msg := fmt.Sprintf("invalid labelSelector: %d bytes, more than the limit of 16384 bytes", len(huge))
	// 60 MB go over the loopback: a deadline of its own, generous for the
	// race detector.
	hugeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for range 100 {
		_, err := f.client.Watch(hugeCtx, &pb.WatchRequest{Resource: podsPB, LabelSelector: huge})
		if !errors.Is(err, api.ErrBadRequest) || err.Error() != msg {
			t.Fatalf("gRPC watch with a 600 KB selector: %v", err)
		}
	}
	got := testutil.ToFloat64(f.srv.rejected.WithLabelValues(limitSelector)) + testutil.ToFloat64(f.srv.rejected.WithLabelValues(limitRequirements))
	if got != float64(refused+100) || refused != 16 {
		t.Errorf("rejected{selector limits} = %v, want %d (116)", got, refused+100)
	}
}
