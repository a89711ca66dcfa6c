package snapshot

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"strings"

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
		enc.entry(o)
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

// removeTemporaries removes what Saves killed before their rename left
// beside Path (Load runs once, before this process saves).
func (f *File) removeTemporaries() {
	left, _ := filepath.Glob(f.Path + ".tmp-*")
	for _, p := range left {
		_ = os.Remove(p)
	}
}

// Load reads and checks the file and rebuilds its objects. Its error
// wraps one of the sentinels of errors.go and names the file; the objects
// are in key order.
func (f *File) Load(ctx context.Context) ([]*api.Object, uint64, error) {
	objs, rv, err := f.load(ctx)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, 0, fmt.Errorf("%w at %s", ErrNotFound, f.Path)
		}
		return nil, 0, fmt.Errorf("%s: %w", f.Path, err)
	}
	return objs, rv, nil
}

func (f *File) load(ctx context.Context) ([]*api.Object, uint64, error) {
	f.removeTemporaries()
	fd, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	size := st.Size()
	prologue := make([]byte, min(size, prologueLen))
	end := make([]byte, min(size, 8))
	if _, err := fd.ReadAt(prologue, 0); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if _, err := fd.ReadAt(end, size-int64(len(end))); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	hl, err := checkFrame(prologue, end, size)
	if err != nil {
		return nil, 0, err
	}
	crc := crc32.New(castagnoli)
	body := io.TeeReader(io.NewSectionReader(fd, 0, size-trailerLen), crc)
	r := bufio.NewReaderSize(body, int(min(size, int64(readBufferSize))))
	if _, err := r.Discard(prologueLen); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	h, objs, readErr := f.read(ctx, r, hl, size-prologueLen-hl-trailerLen)
	if errors.Is(readErr, context.Canceled) || errors.Is(readErr, context.DeadlineExceeded) {
		return nil, 0, readErr
	}
	// The checksum is judged first: damage is reported as damage, not as
	// whatever the damaged bytes happen to say.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var sum [4]byte
	if _, err := fd.ReadAt(sum[:], size-trailerLen); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if got, want := crc.Sum32(), binary.LittleEndian.Uint32(sum[:]); got != want {
		return nil, 0, fmt.Errorf("%w: checksum %08x, file says %08x", ErrCorrupt, got, want)
	}
	if readErr != nil {
		return nil, 0, readErr
	}
	if err := f.verify(h, objs); err != nil {
		return nil, 0, err
	}
	return objs, h.RV, nil
}

// read parses the header (hl bytes) and, if it is this configuration's,
// the entries (left bytes) from r. The caller reads the rest and checks
// the checksum before believing any error.
func (f *File) read(ctx context.Context, r *bufio.Reader, hl, left int64) (Header, []*api.Object, error) {
	var h Header
	hdr := make([]byte, hl)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return h, nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if err := json.Unmarshal(hdr, &h); err != nil {
		return h, nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if err := f.check(h); err != nil {
		return h, nil, err
	}
	if h.Count < 0 || int64(h.Count) > left {
		return h, nil, fmt.Errorf("%w: header counts %d entries in %d bytes", ErrCorrupt, h.Count, left)
	}
	d := &decoder{r: r, left: left, intern: map[string]string{}, maps: map[string]map[string]string{}}
	objs := make([]*api.Object, h.Count)
	for i := range objs {
		if i%4096 == 0 && ctx.Err() != nil {
			return h, nil, ctx.Err()
		}
		objs[i] = d.object()
		if d.err != nil {
			return h, nil, fmt.Errorf("entry %d: %w", i, d.err)
		}
	}
	if d.left != 0 {
		return h, nil, fmt.Errorf("%w: %d bytes after the last entry", ErrCorrupt, d.left)
	}
	return h, objs, nil
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

// readBufferSize is Load's read buffer (a variable for tests).
var readBufferSize = 1 << 20

// VerifyEvery is how many objects of a loaded file share one decoded
// again with the source's decoder and compared field by field (the first
// and last always are): a file whose objects the running decoder would
// build differently (another build's derivation of labels or selectable
// fields) is refused, at 1/VerifyEvery of the cost of decoding it all.
const VerifyEvery = 16

// verify checks every object's key order, prefix and revision, and
// decodes a sample again.
func (f *File) verify(h Header, objs []*api.Object) error {
	for i, o := range objs {
		switch {
		case !strings.HasPrefix(o.Key, f.KeyPrefix):
			return fmt.Errorf("%w: key %q outside %s", ErrCorrupt, o.Key, f.KeyPrefix)
		case i > 0 && o.Key <= objs[i-1].Key:
			return fmt.Errorf("%w: key %q out of order", ErrCorrupt, o.Key)
		case o.RV == 0 || o.RV > h.RV:
			return fmt.Errorf("%w: key %q at revision %d, snapshot at %d", ErrCorrupt, o.Key, o.RV, h.RV)
		}
		if i%VerifyEvery == 0 || i == len(objs)-1 {
			if err := f.decodesSame(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodesSame decodes o's Raw again and compares every field.
func (f *File) decodesSame(o *api.Object) error {
	d, err := f.Decode(o.Key, o.Raw, int64(o.RV))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var diff string
	switch {
	case d.Key != o.Key || d.Namespace != o.Namespace || d.Name != o.Name || d.UID != o.UID:
		diff = "metadata"
	case !maps.Equal(d.Labels, o.Labels) || (d.Labels == nil) != (o.Labels == nil):
		diff = "labels"
	case !maps.Equal(d.Fields, o.Fields) || (d.Fields == nil) != (o.Fields == nil):
		diff = "selectable fields"
	case d.RV != o.RV || d.RVAt != o.RVAt || !bytes.Equal(d.Raw, o.Raw):
		diff = "bytes"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s decodes to other %s with this build", ErrConfig, o.Key, diff)
}
