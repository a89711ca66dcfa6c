package cacher

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

func TestGet_B1_B54_ReadYourWrites(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	for i := range 20 {
		o := e.create("default", "p"+api.FormatRV(uint64(i)), "n1")
		got, err := e.c.Get(ctx, "default", o.Name, api.GetOptions{})
		if err != nil {
			t.Fatalf("consistent get after write: %v", err)
		}
		if got.RV != o.RV || string(got.Raw) != string(o.Raw) {
			t.Fatalf("got %s@%d, want @%d", got.Name, got.RV, o.RV)
		}
	}
}

func TestGet_ByResourceVersionFromMemory_B2_B3_B5_B6(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)

	got, err := e.c.Get(ctx, "default", "a", api.GetOptions{ResourceVersion: "0"})
	if err != nil || got != lookup(t, e, "default", "a") {
		t.Fatalf("B2: RV=0 got %v, %v", got, err)
	}
	// B3: an older RV answers the current cached object.
	b := e.update("default", "a", "n2")
	got, err = e.c.Get(ctx, "default", "a", api.GetOptions{ResourceVersion: api.FormatRV(b.RV)})
	if err != nil || got.RV != b.RV {
		t.Fatalf("B3: got %v, %v; want RV %d", got, err, b.RV)
	}
	// B5
	_, err = e.c.Get(ctx, "default", "missing", api.GetOptions{ResourceVersion: "0"})
	errIs(t, err, api.ErrNotFound, `pods "missing" not found`)
	// B6
	for _, rv := range []string{"-1", "abc", "1.5", " 1"} {
		_, err = e.c.Get(ctx, "default", "a", api.GetOptions{ResourceVersion: rv})
		ae := errIs(t, err, api.ErrBadRequest, "")
		if ae.Field != "resourceVersion" {
			t.Fatalf("RV %q: field %q", rv, ae.Field)
		}
	}
}

// lookup returns the cached object itself (to compare pointers).
func lookup(t *testing.T, e *env, ns, name string) *api.Object {
	t.Helper()
	o, ok := e.c.wc.Latest().Get(e.c.res.Key(e.c.etcdPrefix, ns, name))
	if !ok {
		t.Fatalf("%s/%s not in cache", ns, name)
	}
	return o
}

func TestGet_B4_TooLargeResourceVersion(t *testing.T) {
	e := newEnv(t, true, func(c *Config) { c.FreshnessTimeout = 200 * time.Millisecond })
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)
	want := a.RV + 1000
	_, err := e.c.Get(context.Background(), "default", "a", api.GetOptions{ResourceVersion: api.FormatRV(want)})
	ae := errIs(t, err, api.ErrTooLargeRV, "Too large resource version: "+api.FormatRV(want)+", current: "+api.FormatRV(e.c.RV()))
	if ae.Cause != "ResourceVersionTooLarge" || ae.RetryAfterSeconds != 1 {
		t.Fatalf("cause %q retry %d", ae.Cause, ae.RetryAfterSeconds)
	}
}

func TestGet_B7_NotReadyAnswersFromEtcd(t *testing.T) {
	e := newEnv(t, false, nil)
	a := e.create("default", "a", "n1")
	got, err := e.c.Get(context.Background(), "default", "a", api.GetOptions{ResourceVersion: "0"})
	if err != nil || got.RV != a.RV {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestGet_B1_CoalescedRevisionRequests(t *testing.T) {
	e := newEnv(t, true, nil)
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)
	before := e.c.RevisionRequests()
	const readers = 100
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, readers)
	for range readers {
		wg.Go(func() {
			<-start
			_, err := e.c.Get(context.Background(), "default", "a", api.GetOptions{})
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sent := e.c.RevisionRequests() - before
	if sent < 1 || sent > readers/5 {
		t.Fatalf("%d concurrent consistent reads sent %d revision requests, want 1..%d", readers, sent, readers/5)
	}
	t.Logf("%d consistent reads, %d revision requests", readers, sent)
}
