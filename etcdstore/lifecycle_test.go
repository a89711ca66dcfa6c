package etcdstore_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// gen is the object's metadata.generation (0 when absent).
func gen(t *testing.T, o *api.Object) int64 {
	t.Helper()
	g, _ := meta(t, o)["generation"].(float64)
	return int64(g)
}

// B100: generation is 1 on create and grows by one on each write that
// changes the object outside metadata and status; one given in the body is
// ignored, and a write that changes only metadata or status keeps it.
func TestLifecycle_B100_Generation(t *testing.T) {
	e := newEnv(t, nil)
	p, err := e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"p","generation":7},"spec":{"nodeName":"a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		what  string
		body  string // an update body, or a merge patch when patch
		patch bool
		want  int64
	}{
		{"spec update", `{"metadata":{"name":"p","generation":40},"spec":{"nodeName":"b"}}`, false, 2},
		{"metadata-only update", `{"metadata":{"name":"p","labels":{"x":"y"}},"spec":{"nodeName":"b"}}`, false, 2},
		{"status-only update", `{"metadata":{"name":"p"},"spec":{"nodeName":"b"},"status":{"phase":"Running"}}`, false, 2},
		{"status-only patch", `{"status":{"phase":"Failed"}}`, true, 2},
		{"metadata-only patch", `{"metadata":{"annotations":{"a":"b"}}}`, true, 2},
		{"spec patch", `{"spec":{"nodeName":"c"}}`, true, 3},
		{"patch of generation", `{"metadata":{"generation":1}}`, true, 3},
	}
	if g := gen(t, p); g != 1 {
		t.Fatalf("create: generation %d, want 1", g)
	}
	for _, st := range steps {
		var o *api.Object
		if st.patch {
			o, err = e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(st.body)))
		} else {
			o, err = e.s.Update(e.ctx, "ns", "p", []byte(st.body))
		}
		if err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if g := gen(t, o); g != st.want {
			t.Fatalf("%s: generation %d, want %d", st.what, g, st.want)
		}
	}
}

// B101: a delete of an object with finalizers marks it (MODIFIED with
// deletionTimestamp now and deletionGracePeriodSeconds 0) and the object
// stays; a second delete changes nothing; updates keep the mark and may
// not add finalizers; the write that removes the last finalizer deletes
// the object (DELETED at that write's revision).
func TestLifecycle_B101_Finalizers(t *testing.T) {
	e := newEnv(t, nil)
	p, err := e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"p","finalizers":["a/x","a/y"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	w := e.watch(api.WatchOptions{ResourceVersion: api.FormatRV(p.RV)})
	before := time.Now().UTC().Truncate(time.Second)
	marked, err := e.s.Delete(e.ctx, "ns", "p", api.Preconditions{})
	if err != nil {
		t.Fatal(err)
	}
	md := meta(t, marked)
	ts, err := time.Parse(time.RFC3339, md["deletionTimestamp"].(string))
	if err != nil || ts.Before(before) || ts.After(time.Now().Add(time.Second)) || md["deletionGracePeriodSeconds"] != float64(0) {
		t.Fatalf("marked object: %s (%v)", marked.Raw, err)
	}
	if marked.RV <= p.RV {
		t.Fatalf("mark at %d, create at %d", marked.RV, p.RV)
	}
	again, err := e.s.Delete(e.ctx, "ns", "p", api.Preconditions{})
	if err != nil || again.RV != marked.RV {
		t.Fatalf("second delete: %v at %d, want the marked object at %d", err, again.RV, marked.RV)
	}
	if got, err := e.s.Get(e.ctx, "ns", "p", api.GetOptions{}); err != nil || string(got.Raw) != string(marked.Raw) {
		t.Fatalf("get after delete: %v %s", err, got.Raw)
	}

	// An update that drops deletionTimestamp keeps it, and removes one of
	// two finalizers: the object stays.
	upd, err := e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"name":"p","finalizers":["a/x"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m := meta(t, upd); m["deletionTimestamp"] != md["deletionTimestamp"] || m["deletionGracePeriodSeconds"] != float64(0) {
		t.Fatalf("update lost the mark: %s", upd.Raw)
	}
	_, err = e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"name":"p","finalizers":["a/x","b"]}}`))
	wantInvalid(t, err, `Pod "p" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"b"}`,
		"Pod", "", "p", api.Cause{Type: "FieldValueForbidden", Field: "metadata.finalizers",
			Message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"b"}`})

	gone, err := e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"finalizers":null}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Get(e.ctx, "ns", "p", api.GetOptions{}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("get after the last finalizer went: %v", err)
	}
	expect(t, w, ev{"MODIFIED", "ns/p", marked.RV}, ev{"MODIFIED", "ns/p", upd.RV}, ev{"DELETED", "ns/p", gone.RV})
	var last struct {
		Metadata struct {
			Finalizers []string `json:"finalizers"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(gone.Raw, &last); err != nil || len(last.Metadata.Finalizers) != 1 {
		t.Fatalf("the answer is the last stored state: %s", gone.Raw)
	}
}

// B101: an update (not a patch) that removes the last finalizer of a
// marked object deletes it too; without the mark it is a plain update.
func TestLifecycle_B101_UpdateFinalizes(t *testing.T) {
	e := newEnv(t, nil)
	for _, n := range []string{"a", "b"} {
		if _, err := e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"`+n+`","finalizers":["f"]}}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.Delete(e.ctx, "ns", "a", api.Preconditions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if _, err := e.s.Update(e.ctx, "ns", n, []byte(`{"metadata":{"name":"`+n+`"}}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.Get(e.ctx, "ns", "a", api.GetOptions{}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("marked a after its finalizer went: %v", err)
	}
	if _, err := e.s.Get(e.ctx, "ns", "b", api.GetOptions{}); err != nil {
		t.Fatalf("unmarked b after its finalizer went: %v", err)
	}
}

// B102: DeleteCollection deletes what the selector selects, one DELETED
// event each, marks objects with finalizers, and returns the list as it
// was listed.
func TestLifecycle_B102_DeleteCollection(t *testing.T) {
	e := newEnv(t, nil)
	a := e.create("ns", "a", "", map[string]string{"app": "x"})
	e.create("ns", "b", "", map[string]string{"app": "y"})
	e.create("other", "c", "", map[string]string{"app": "x"})
	f, err := e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"f","labels":{"app":"x"},"finalizers":["k"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	w := e.watch(api.WatchOptions{ResourceVersion: api.FormatRV(f.RV)})
	pred, err := api.ParsePredicate("app=x", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.s.DeleteCollection(e.ctx, api.ListOptions{Namespace: "ns", Predicate: pred, Limit: 1}, api.Preconditions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(list.Items); len(got) != 2 || got[0] != "ns/a" || got[1] != "ns/f" || list.RV != f.RV {
		t.Fatalf("deleted list %v at %d, want [ns/a ns/f] at %d", got, list.RV, f.RV)
	}
	if string(list.Items[0].Raw) != string(a.Raw) || string(list.Items[1].Raw) != string(f.Raw) {
		t.Fatalf("items are not as listed: %s", list.Items[0].Raw)
	}
	expect(t, w, ev{"DELETED", "ns/a", f.RV + 1}, ev{"MODIFIED", "ns/f", f.RV + 2})
	rest, err := e.s.List(e.ctx, api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(rest.Items); len(got) != 3 || got[0] != "ns/b" || got[1] != "ns/f" || got[2] != "other/c" {
		t.Fatalf("left: %v", got)
	}
}
