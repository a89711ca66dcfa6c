package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/watchcached/watchcached/api"
)

// DecodeFunc builds the object a served JSON value shows at revision rv:
// the source's decoder (etcdstore.Store.Decode).
type DecodeFunc func(key string, raw []byte, rv int64) (*api.Object, error)

// File is one resource's snapshot file. Its fields are set before use and
// never changed. It implements cacher.WarmStore.
type File struct {
	// Path is the file; Save writes Path+".tmp-*" beside it and renames.
	Path string
	// Resource and KeyPrefix are the running configuration: a file
	// written for another one is refused (ErrConfig).
	Resource  *api.Resource
	KeyPrefix string
	// ClusterID is the running etcd cluster's ID: a file from another
	// cluster is refused (ErrCluster).
	ClusterID uint64
	// Decode re-derives each object from its served JSON.
	Decode DecodeFunc
}

// FileName is the name of a resource's snapshot file in a directory:
// "<group>_<resource>.snap" ("_pods.snap" for the core group).
func FileName(res *api.Resource) string {
	return strings.ReplaceAll(res.Group, "/", "_") + "_" + res.Resource + ".snap"
}

// Fingerprint identifies everything of a resource's configuration that
// decides how its stored values become objects and where they live.
func Fingerprint(res *api.Resource, keyPrefix string) string {
	b, _ := json.Marshal(struct {
		Format            int               `json:"format"`
		Group, Version    string            `json:",omitempty"`
		Resource, Kind    string            `json:",omitempty"`
		Namespaced        bool              `json:",omitempty"`
		Selectable        []string          `json:",omitempty"`
		FieldPaths        map[string]string `json:",omitempty"`
		FieldDefaults     map[string]string `json:",omitempty"`
		RewriteAPIVersion bool              `json:",omitempty"`
		SharesStorageWith string            `json:",omitempty"`
		KeyPrefix         string
	}{Version, res.Group, res.Version, res.Resource, res.Kind, res.Namespaced, res.SelectableFields,
		res.FieldPaths, res.FieldDefaults, res.RewriteAPIVersion, res.SharesStorageWith, keyPrefix})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (f *File) header(rv uint64, n int) Header {
	return Header{Group: f.Resource.Group, APIVer: f.Resource.Version, Resource: f.Resource.Resource,
		KeyPrefix: f.KeyPrefix, Fingerprint: Fingerprint(f.Resource, f.KeyPrefix), ClusterID: f.ClusterID, RV: rv, Count: n}
}

// Save writes objs (n of them, in key order, all at revision rv or
// below) atomically: to a temporary file in the same directory, synced,
// then renamed over Path and the directory synced. A failed Save leaves
// the previous file as it was.
func (f *File) Save(rv uint64, n int, objs iter.Seq[*api.Object]) (err error) {
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(f.Path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	enc := newEncoder(tmp, f.header(rv, n))
	for o := range objs {
		enc.entry(o.Key, o.RV, o.Raw)
	}
	if enc.n != n && enc.err == nil {
		return fmt.Errorf("snapshot: %d objects announced, %d written", n, enc.n)
	}
	if err := enc.finish(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Load reads, checks and decodes the file. Its error wraps one of the
// sentinels of errors.go and names the file; the objects are in key order.
func (f *File) Load(ctx context.Context) ([]*api.Object, uint64, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w at %s", ErrNotFound, f.Path)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, f.Path, err)
	}
	h, entries, err := decode(data)
	if err == nil {
		err = f.check(h)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", f.Path, err)
	}
	objs, err := f.decodeAll(ctx, h, entries)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", f.Path, err)
	}
	return objs, h.RV, nil
}

// check compares a file's header with the running configuration.
func (f *File) check(h Header) error {
	if want := Fingerprint(f.Resource, f.KeyPrefix); h.Fingerprint != want {
		return fmt.Errorf("%w: written for %s %s under %s (fingerprint %.12s, running %.12s)",
			ErrConfig, groupVersion(h.Group, h.APIVer), h.Resource, h.KeyPrefix, h.Fingerprint, want)
	}
	if h.ClusterID != f.ClusterID {
		return fmt.Errorf("%w: cluster %x, connected to %x", ErrCluster, h.ClusterID, f.ClusterID)
	}
	return nil
}

func groupVersion(g, v string) string {
	if g == "" {
		return v
	}
	return g + "/" + v
}

// decodeAll checks every entry's key order, prefix and revision and
// decodes it, on up to GOMAXPROCS goroutines.
func (f *File) decodeAll(ctx context.Context, h Header, entries []Entry) ([]*api.Object, error) {
	for i, e := range entries {
		switch {
		case !strings.HasPrefix(e.Key, f.KeyPrefix):
			return nil, fmt.Errorf("%w: key %q outside %s", ErrCorrupt, e.Key, f.KeyPrefix)
		case i > 0 && e.Key <= entries[i-1].Key:
			return nil, fmt.Errorf("%w: key %q out of order", ErrCorrupt, e.Key)
		case e.RV == 0 || e.RV > h.RV:
			return nil, fmt.Errorf("%w: key %q at revision %d, snapshot at %d", ErrCorrupt, e.Key, e.RV, h.RV)
		}
	}
	objs := make([]*api.Object, len(entries))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(entries)/1024))
	chunk := (len(entries) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * chunk; i < min(len(entries), (w+1)*chunk); i++ {
				if i%1024 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				e := entries[i]
				o, err := f.Decode(e.Key, e.Raw, int64(e.RV))
				if err != nil {
					errs[w] = fmt.Errorf("%w: %v", ErrCorrupt, err)
					return
				}
				objs[i] = o
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first one: the reason is one line
		}
	}
	return objs, nil
}
