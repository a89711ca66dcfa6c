package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// testDecode stands in for a source's decoder: it keeps the bytes and
// refuses a value that is not a JSON object.
func testDecode(key string, raw []byte, rv int64) (*api.Object, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%s: not a JSON object", key)
	}
	return &api.Object{Key: key, RV: uint64(rv), Raw: append([]byte(nil), raw...)}, nil
}

func testFile(t *testing.T) *File {
	res := &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}
	return &File{Path: filepath.Join(t.TempDir(), "sub", FileName(res)), Resource: res,
		KeyPrefix: "/registry/pods/", ClusterID: 7, Decode: testDecode}
}

func testObjects(n int) []*api.Object {
	objs := make([]*api.Object, n)
	for i := range objs {
		objs[i] = &api.Object{Key: fmt.Sprintf("/registry/pods/ns/p%05d", i), RV: uint64(10 + i), Raw: fmt.Appendf(nil, `{"i":%d}`, i)}
	}
	return objs
}

func save(t *testing.T, f *File, rv uint64, objs []*api.Object) {
	t.Helper()
	err := f.Save(rv, len(objs), func(yield func(*api.Object) bool) {
		for _, o := range objs {
			if !yield(o) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// B233: what Save writes Load returns, object for object.
func TestFile_B233_RoundTrip(t *testing.T) {
	f := testFile(t)
	want := testObjects(3000) // several decode workers
	save(t, f, 5000, want)
	got, rv, err := f.Load(context.Background())
	if err != nil || rv != 5000 || len(got) != len(want) {
		t.Fatalf("Load: %d objects at %d, %v", len(got), rv, err)
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].RV != want[i].RV || string(got[i].Raw) != string(want[i].Raw) {
			t.Fatalf("object %d: got %s@%d %s, want %s@%d %s", i, got[i].Key, got[i].RV, got[i].Raw, want[i].Key, want[i].RV, want[i].Raw)
		}
	}
	if name := FileName(&api.Resource{Group: "apps", Resource: "deployments"}); name != "apps_deployments.snap" {
		t.Fatalf("FileName %q", name)
	}
}

// B233: objects of every size load whole wherever the read buffer's
// refills fall (a 256-byte buffer: strings longer than it take the other
// path).
func TestFile_B233_ReadBufferBoundaries(t *testing.T) {
	defer func(n int) { readBufferSize = n }(readBufferSize)
	readBufferSize = 256
	f := testFile(t)
	var want []*api.Object
	for i := range 600 {
		ns, name := fmt.Sprintf("ns%d", i%7), fmt.Sprintf("p%04d%s", i, strings.Repeat("n", i%40))
		want = append(want, &api.Object{Key: "/registry/pods/" + ns + "/" + name, Namespace: ns, Name: name,
			UID: fmt.Sprintf("uid-%d", i), RV: uint64(i + 1), RVAt: i % 50,
			Labels: map[string]string{"app": strings.Repeat("a", i%300), "i": fmt.Sprint(i)},
			Fields: map[string]string{"metadata.name": name, "metadata.namespace": ns},
			Raw:    fmt.Appendf(nil, `{"i":%d,"pad":%q}`, i, strings.Repeat("x", i%500))})
	}
	f.Decode = func(key string, raw []byte, rv int64) (*api.Object, error) {
		for _, o := range want {
			if o.Key == key {
				return o, nil
			}
		}
		return nil, fmt.Errorf("%s: unknown", key)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Key < want[j].Key })
	save(t, f, 1000, want)
	got, _, err := f.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("object %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// B233: a file cut at any length, or with any one byte changed, is
// refused (truncated or corrupt); it never loads.
func TestFile_B233_EveryTruncationAndBitFlipRefused(t *testing.T) {
	f := testFile(t)
	save(t, f, 100, testObjects(20))
	good, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	try := func(b []byte) error {
		if err := os.WriteFile(f.Path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := f.Load(context.Background())
		return err
	}
	for n := range len(good) {
		if err := try(good[:n]); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d of %d: %v, want truncated or corrupt", n, len(good), err)
		}
	}
	for i := range len(good) {
		b := append([]byte(nil), good...)
		b[i] ^= 0x01
		err := try(b)
		if err == nil {
			t.Fatalf("byte %d flipped: loaded", i)
		}
		if i >= 8 && i < 12 && !errors.Is(err, ErrVersion) {
			t.Fatalf("version byte %d flipped: %v", i, err)
		}
	}
}

// B233: the sentinel of every refusal, and the reason it reads as.
func TestFile_B233_Refusals(t *testing.T) {
	f := testFile(t)
	_, _, err := f.Load(context.Background())
	if !errors.Is(err, ErrNotFound) || err.Error() != "no snapshot at "+f.Path {
		t.Fatalf("missing: %v", err)
	}
	save(t, f, 100, testObjects(2))
	other := *f
	res := *f.Resource
	res.SelectableFields = []string{"spec.nodeName"}
	other.Resource = &res
	_, _, err = other.Load(context.Background())
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("other configuration: %v", err)
	}
	other = *f
	other.KeyPrefix = "/other/pods/"
	if _, _, err = other.Load(context.Background()); !errors.Is(err, ErrConfig) {
		t.Fatalf("other prefix: %v", err)
	}
	other = *f
	other.ClusterID = 8
	_, _, err = other.Load(context.Background())
	if want := f.Path + ": snapshot of another etcd cluster: cluster 7, connected to 8"; !errors.Is(err, ErrCluster) || err.Error() != want {
		t.Fatalf("other cluster: %v, want %s", err, want)
	}
	bad := testObjects(2)
	bad[1].Raw = []byte("[]")
	save(t, f, 100, bad)
	_, _, err = f.Load(context.Background())
	if want := f.Path + ": snapshot corrupt: /registry/pods/ns/p00001: not a JSON object"; !errors.Is(err, ErrCorrupt) || err.Error() != want {
		t.Fatalf("undecodable: %v, want %s", err, want)
	}
	other2 := testObjects(3)
	other2[2].Labels = map[string]string{"a": "b"} // not what the decoder derives
	save(t, f, 100, other2)
	_, _, err = f.Load(context.Background())
	if want := f.Path + ": snapshot of another resource configuration: /registry/pods/ns/p00002 decodes to other labels with this build"; !errors.Is(err, ErrConfig) || err.Error() != want {
		t.Fatalf("decoded differently: %v, want %s", err, want)
	}
	save(t, f, 10, testObjects(2)) // an object newer than the snapshot
	if _, _, err = f.Load(context.Background()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("object after the snapshot's revision: %v", err)
	}
}

// B233: a failed Save (the announced count is wrong) leaves the previous
// file loadable and no temporary file behind; Load removes the temporary
// file of a Save that was killed.
func TestFile_B233_FailedSaveKeepsPrevious(t *testing.T) {
	f := testFile(t)
	save(t, f, 100, testObjects(2))
	err := f.Save(200, 5, func(yield func(*api.Object) bool) {})
	if err == nil || err.Error() != "snapshot: 5 objects announced, 0 written" {
		t.Fatalf("Save: %v", err)
	}
	if _, rv, err := f.Load(context.Background()); err != nil || rv != 100 {
		t.Fatalf("previous file: rv %d, %v", rv, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(f.Path))
	if len(entries) != 1 {
		t.Fatalf("files left: %v", entries)
	}
	// A Save killed before its rename leaves a temporary file; the next
	// Load removes it.
	if err := os.WriteFile(f.Path+".tmp-123", []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(f.Path)); len(entries) != 1 {
		t.Fatalf("files left after Load: %v", entries)
	}
}
