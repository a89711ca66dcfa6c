package conformance

import (
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

func runWrite(t *testing.T, f Factory) {
	runAll(t, f, []scenario{
		{"B50_Create", writeCreate},
		{"B51_Update", writeUpdate},
		{"B52_Delete", writeDelete},
		{"B53_MergePatch", writePatch},
		{"B54_ReadYourWrites", writeReadYourWrites},
	})
}

const conflictMsg = `Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again`

// B50: create sets RV, uid and creationTimestamp; an existing name is 409
// AlreadyExists; a namespace that differs from the path's or a missing
// name is 400.
func writeCreate(e *env) {
	before := e.rev()
	a := e.create("default", "a", "n1", map[string]string{"app": "web"})
	if a.RV != before+1 || a.UID == "" || !strings.Contains(string(a.Raw), `"creationTimestamp":"`) ||
		!strings.Contains(string(a.Raw), `"resourceVersion":"`+rvs(a.RV)+`"`) || a.Labels["app"] != "web" {
		e.t.Fatalf("created %s uid %q: %s", testkit.Obj(a), a.UID, a.Raw)
	}
	_, err := e.Storage.Create(e.ctx, "default", pod("default", "a", "n2", nil, 0))
	testkit.WantErr(e.t, err, api.ErrAlreadyExists, "", `pods "a" already exists`)
	_, err = e.Storage.Create(e.ctx, "other", pod("default", "b", "n1", nil, 0))
	testkit.WantErr(e.t, err, api.ErrBadRequest, "metadata.namespace", "")
	_, err = e.Storage.Create(e.ctx, "default", []byte(`{"metadata":{"namespace":"default"}}`))
	testkit.WantErr(e.t, err, api.ErrBadRequest, "metadata.name", "name or generateName is required")
	_, err = e.Storage.Create(e.ctx, "default", []byte(`{"metadata":`))
	testkit.WantErr(e.t, err, api.ErrBadRequest, "", "")
	g, err := e.Storage.Create(e.ctx, "default", []byte(`{"metadata":{"generateName":"web-"}}`))
	if err != nil || !strings.HasPrefix(g.Name, "web-") || len(g.Name) <= len("web-") {
		e.t.Fatalf("generateName: %v, %v", g, err)
	}
	if e.rev() != g.RV {
		e.t.Fatalf("a failed create wrote something: etcd at %d, last create %d", e.rev(), g.RV)
	}
}

// B51: update replaces; a stale metadata.resourceVersion is 409 Conflict;
// none means unconditional; an absent object is 404.
func writeUpdate(e *env) {
	a := e.create("default", "a", "n1", nil)
	a2 := e.update("default", "a", "n2", nil) // unconditional
	if a2.RV <= a.RV || a2.UID != a.UID || a2.Fields["spec.nodeName"] != "n2" {
		e.t.Fatalf("update: %s uid %q node %q", testkit.Obj(a2), a2.UID, a2.Fields["spec.nodeName"])
	}
	withRV := func(rv uint64, node string) []byte {
		s := strings.Replace(string(pod("default", "a", node, nil, 0)), `"metadata":{`, `"metadata":{"resourceVersion":"`+rvs(rv)+`",`, 1)
		return []byte(s)
	}
	_, err := e.Storage.Update(e.ctx, "default", "a", withRV(a.RV, "n3"))
	testkit.WantErr(e.t, err, api.ErrConflict, "", conflictMsg)
	a3, err := e.Storage.Update(e.ctx, "default", "a", withRV(a2.RV, "n3"))
	if err != nil || a3.RV <= a2.RV || a3.Fields["spec.nodeName"] != "n3" {
		e.t.Fatalf("update at the current RV: %v, %v", a3, err)
	}
	_, err = e.Storage.Update(e.ctx, "default", "missing", pod("default", "missing", "n1", nil, 1))
	testkit.WantErr(e.t, err, api.ErrNotFound, "", `pods "missing" not found`)
	_, err = e.Storage.Update(e.ctx, "default", "a", pod("default", "b", "n1", nil, 1))
	testkit.WantErr(e.t, err, api.ErrBadRequest, "metadata.name", "")
	got, err := e.Storage.Get(e.ctx, "default", "a", api.GetOptions{})
	if err != nil || testkit.Obj(got) != testkit.Obj(a3) {
		e.t.Fatalf("after the failed updates: %v, %v; want %s", got, err, testkit.Obj(a3))
	}
}

// B52: delete returns the last state at the deletion's RV; failed
// preconditions are 409; an absent object is 404.
func writeDelete(e *env) {
	a := e.create("default", "a", "n1", nil)
	_, err := e.Storage.Delete(e.ctx, "default", "a", api.Preconditions{UID: ptr("not-the-uid")})
	testkit.WantErr(e.t, err, api.ErrConflict, "", "Precondition failed: UID in precondition: not-the-uid, UID in object meta: "+a.UID)
	_, err = e.Storage.Delete(e.ctx, "default", "a", api.Preconditions{ResourceVersion: ptr(rvs(a.RV + 100))})
	testkit.WantErr(e.t, err, api.ErrConflict, "", "")
	d, err := e.Storage.Delete(e.ctx, "default", "a", api.Preconditions{UID: ptr(a.UID), ResourceVersion: ptr(rvs(a.RV))})
	if err != nil {
		e.t.Fatal(err)
	}
	if d.RV != a.RV+1 || d.UID != a.UID || string(d.Raw) != string(a.WithRV(a.RV+1).Raw) || e.rev() != d.RV {
		e.t.Fatalf("deleted %s, want %s at RV %d", d.Raw, a.Raw, a.RV+1)
	}
	_, err = e.Storage.Delete(e.ctx, "default", "a", api.Preconditions{})
	testkit.WantErr(e.t, err, api.ErrNotFound, "", `pods "a" not found`)
	_, err = e.Storage.Get(e.ctx, "default", "a", api.GetOptions{})
	testkit.WantErr(e.t, err, api.ErrNotFound, "", `pods "a" not found`)
}

// B53: a JSON merge patch applies to the current object, also when the
// storage's idea of it is stale (it re-reads and retries); a stale
// resourceVersion in the patch is 409; an absent object 404.
func writePatch(e *env) {
	a := e.create("default", "a", "n1", map[string]string{"app": "web", "tier": "front"})
	e.Sync(e.t, a.RV)
	// A write behind the storage's back: a cache now holds a stale copy.
	resp, err := e.Etcd.Put(e.ctx, a.Key, strings.Replace(string(a.Raw), `"nodeName":"n1"`, `"nodeName":"n7"`, 1))
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.Storage.Patch(e.ctx, "default", "a", api.NewMergePatch([]byte(`{"metadata":{"labels":{"tier":null,"x":"y"}}}`)))
	if err != nil {
		e.t.Fatal(err)
	}
	if p.RV <= uint64(resp.Header.Revision) || p.Fields["spec.nodeName"] != "n7" ||
		len(p.Labels) != 2 || p.Labels["app"] != "web" || p.Labels["x"] != "y" || p.UID != a.UID {
		e.t.Fatalf("patched %s labels %v node %q: %s", testkit.Obj(p), p.Labels, p.Fields["spec.nodeName"], p.Raw)
	}
	_, err = e.Storage.Patch(e.ctx, "default", "a", api.NewMergePatch([]byte(`{"metadata":{"resourceVersion":"`+rvs(a.RV)+`"},"spec":{"nodeName":"n2"}}`)))
	testkit.WantErr(e.t, err, api.ErrConflict, "", "")
	_, err = e.Storage.Patch(e.ctx, "default", "missing", api.NewMergePatch([]byte(`{"spec":{"nodeName":"n2"}}`)))
	testkit.WantErr(e.t, err, api.ErrNotFound, "", `pods "missing" not found`)
	_, err = e.Storage.Patch(e.ctx, "default", "a", api.NewMergePatch([]byte(`[1]`)))
	testkit.WantErr(e.t, err, api.ErrBadRequest, "", "")
	got, err := e.Storage.Get(e.ctx, "default", "a", api.GetOptions{})
	if err != nil || testkit.Obj(got) != testkit.Obj(p) {
		e.t.Fatalf("after the failed patches: %v, %v; want %s", got, err, testkit.Obj(p))
	}
}

// B54: a write is visible to every consistent read issued after it
// returned.
func writeReadYourWrites(e *env) {
	for i := range 10 {
		name := "p" + rvs(uint64(i%3))
		var o *api.Object
		switch {
		case i < 3:
			o = e.create("default", name, "n1", nil)
		default:
			o = e.update("default", name, "n"+rvs(uint64(i)), nil)
		}
		got, err := e.Storage.Get(e.ctx, "default", name, api.GetOptions{})
		if err != nil || testkit.Obj(got) != testkit.Obj(o) {
			e.t.Fatalf("get after write %d: %v, %v; want %s", i, got, err, testkit.Obj(o))
		}
		l := e.list(api.ListOptions{Predicate: e.pred("", "metadata.name="+name)})
		if len(l.Items) != 1 || testkit.Obj(l.Items[0]) != testkit.Obj(o) || l.RV < o.RV {
			e.t.Fatalf("list after write %d: %q at %d; want %s", i, testkit.Objs(l.Items), l.RV, testkit.Obj(o))
		}
	}
	d := e.del("default", "p0")
	if _, err := e.Storage.Get(e.ctx, "default", "p0", api.GetOptions{}); api.AsError(err) == nil {
		e.t.Fatalf("get after delete at %d: %v", d.RV, err)
	}
	if l := e.list(api.ListOptions{Namespace: "default"}); len(l.Items) != 2 || l.RV < d.RV {
		e.t.Fatalf("list after delete: %q at %d", testkit.Objs(l.Items), l.RV)
	}
}
