package snapshot

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/watchcached/watchcached/api"
)

// Version is the format version this package writes and reads.
const Version = 1

var (
	magic      = []byte("WCSNAP\n\x00")
	endMarker  = []byte("WCSNEND\n")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

const (
	prologueLen = 16 // magic, version, header length
	trailerLen  = 12 // checksum, end marker
)

// Header describes a snapshot file.
type Header struct {
	// Group, APIVer and Resource name the resource, for people reading
	// the file; Fingerprint is what is compared.
	Group    string `json:"group,omitempty"`
	APIVer   string `json:"version"`
	Resource string `json:"resource"`
	// KeyPrefix is the etcd key prefix of the objects.
	KeyPrefix string `json:"keyPrefix"`
	// Fingerprint is Fingerprint(resource, keyPrefix) of the writer.
	Fingerprint string `json:"fingerprint"`
	// ClusterID is the etcd cluster's ID (from any response header).
	ClusterID uint64 `json:"clusterID"`
	// RV is the revision the objects show.
	RV uint64 `json:"rv"`
	// Count is the number of entries.
	Count int `json:"count"`
}

// encoder writes the layout of doc.go, checksumming as it goes. An entry
// is an api.Object's fields in this order: key, RV, RVAt, namespace,
// name, uid, labels, fields (each a count and key-value pairs), Raw;
// strings and byte slices are a uvarint length and the bytes.
type encoder struct {
	w   *bufio.Writer
	crc hash.Hash32
	buf []byte
	n   int // entries written
	err error
}

func newEncoder(w io.Writer, h Header) *encoder {
	e := &encoder{crc: crc32.New(castagnoli)}
	e.w = bufio.NewWriterSize(io.MultiWriter(w, e.crc), 1<<20)
	hdr, err := json.Marshal(h)
	if err != nil {
		e.err = err
		return e
	}
	var fixed [8]byte
	binary.LittleEndian.PutUint32(fixed[:4], Version)
	binary.LittleEndian.PutUint32(fixed[4:], uint32(len(hdr)))
	e.write(magic)
	e.write(fixed[:])
	e.write(hdr)
	return e
}

func (e *encoder) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// entry appends one object (all but its Raw is small: built in e.buf).
func (e *encoder) entry(o *api.Object) {
	b := e.buf[:0]
	b = appendString(b, o.Key)
	b = binary.AppendUvarint(b, o.RV)
	b = binary.AppendUvarint(b, uint64(o.RVAt))
	b = appendString(b, o.Namespace)
	b = appendString(b, o.Name)
	b = appendString(b, o.UID)
	b = appendMap(b, o.Labels)
	b = appendMap(b, o.Fields)
	b = binary.AppendUvarint(b, uint64(len(o.Raw)))
	e.buf = b
	e.write(b)
	e.write(o.Raw)
	e.n++
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendMap writes 0 for a nil map, else its length + 1 and its pairs.
func appendMap[M ~map[string]string](b []byte, m M) []byte {
	if m == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(m))+1)
	for k, v := range m {
		b = appendString(appendString(b, k), v)
	}
	return b
}

// finish writes the checksum and end marker to w (not checksummed).
func (e *encoder) finish(w io.Writer) error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err != nil {
		return e.err
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], e.crc.Sum32())
	if _, err := w.Write(sum[:]); err != nil {
		return err
	}
	_, err := w.Write(endMarker)
	return err
}

// checkFrame checks what can be checked without reading the entries: the
// prologue and the end marker. size is the file's size.
func checkFrame(prologue, end []byte, size int64) (hdrLen int64, err error) {
	switch {
	case len(prologue) < 8 && bytes.HasPrefix(magic, prologue):
		return 0, fmt.Errorf("%w: %d bytes, no header", ErrTruncated, size)
	case len(prologue) < 8 || !bytes.Equal(prologue[:8], magic):
		return 0, fmt.Errorf("%w: not a snapshot file (bad magic)", ErrCorrupt)
	case len(prologue) < prologueLen:
		return 0, fmt.Errorf("%w: %d bytes, no header", ErrTruncated, size)
	}
	if v := binary.LittleEndian.Uint32(prologue[8:12]); v != Version {
		return 0, fmt.Errorf("%w: version %d, this build reads %d", ErrVersion, v, Version)
	}
	if size < prologueLen+trailerLen || !bytes.Equal(end, endMarker) {
		return 0, fmt.Errorf("%w: %d bytes, no end marker", ErrTruncated, size)
	}
	hl := int64(binary.LittleEndian.Uint32(prologue[12:16]))
	if hl > size-prologueLen-trailerLen {
		return 0, fmt.Errorf("%w: header length %d past the end", ErrCorrupt, hl)
	}
	return hl, nil
}

// decoder reads entries from a reader of exactly the file's checksummed
// body after the header, refusing any length past what is left. Strings
// are shared where they repeat: an object's namespace and name are
// substrings of its key, and label and field keys and values come from a
// bounded table of the strings already seen, so loading allocates about
// what the objects hold and little more.
type decoder struct {
	r       *bufio.Reader
	left    int64 // bytes not yet read
	err     error
	intern  map[string]string
	maps    map[string]map[string]string // shared maps by their encoded pairs
	scratch []byte                       // strMap's encoded pairs
}

// maxInterned bounds the table of shared strings (and the length of one).
const (
	maxInterned    = 1 << 16
	maxInternedLen = 128
)

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d)
	if err != nil {
		d.fail("bad number: %v", err)
	}
	return v
}

// ReadByte counts what binary.ReadUvarint reads.
func (d *decoder) ReadByte() (byte, error) {
	if d.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	d.left--
	return d.r.ReadByte()
}

// length reads a length and checks it against what is left.
func (d *decoder) length() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(d.left) {
		d.fail("length %d past the end", n)
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

// bytes reads a length-prefixed byte slice into memory of its own.
func (d *decoder) bytes() []byte {
	n := d.length()
	if d.err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail("%v", err)
	}
	d.left -= int64(n)
	return b
}

// view reads a length-prefixed string and returns its bytes, valid until
// the next read.
func (d *decoder) view() []byte {
	n := d.length()
	if d.err != nil {
		return nil
	}
	d.left -= int64(n)
	if n <= d.r.Size() {
		b, err := d.r.Peek(n)
		if err != nil {
			d.fail("%v", err)
			return nil
		}
		_, _ = d.r.Discard(n)
		return b
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail("%v", err)
	}
	return b
}

// shared is b as a string from the table, or a new one that joins it.
func (d *decoder) shared(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(s) <= maxInternedLen && len(d.intern) < maxInterned {
		d.intern[s] = s
	}
	return s
}

// within is b as a substring of s if s has it at [from, from+len(b)).
func within(s string, from int, b []byte) (string, bool) {
	if from < 0 || from+len(b) > len(s) || s[from:from+len(b)] != string(b) {
		return "", false
	}
	return s[from : from+len(b)], true
}

// strMap reads a map (0: nil, else length + 1 and pairs). Maps of the same
// pairs are one map, shared by every object that has them (as the etcd
// decoder shares them: objects' maps are never modified), so a load of
// many objects with their workload's few label sets builds each set once.
func (d *decoder) strMap() map[string]string {
	n := d.length()
	if n == 0 || d.err != nil {
		return nil
	}
	d.scratch = d.scratch[:0]
	for range 2 * (n - 1) {
		v := d.view()
		d.scratch = binary.AppendUvarint(d.scratch, uint64(len(v)))
		d.scratch = append(d.scratch, v...)
	}
	if d.err != nil {
		return nil
	}
	if m, ok := d.maps[string(d.scratch)]; ok {
		return m
	}
	m := make(map[string]string, n-1)
	for rest := d.scratch; len(rest) > 0; {
		var k, v []byte
		k, rest = splitView(rest)
		v, rest = splitView(rest)
		m[d.shared(k)] = d.shared(v)
	}
	if len(d.maps) >= maxSharedMaps {
		clear(d.maps)
	}
	d.maps[string(d.scratch)] = m
	return m
}

// maxSharedMaps bounds the table of shared maps; a full table is emptied
// and fills again from the objects read next.
const maxSharedMaps = 8192

// splitView cuts one length-prefixed string off b, which strMap wrote.
func splitView(b []byte) (v, rest []byte) {
	n, w := binary.Uvarint(b)
	return b[w : w+int(n)], b[w+int(n):]
}

// object reads one entry.
func (d *decoder) object() *api.Object {
	// One read per statement: a view is only valid until the next read,
	// and a conversion in a composite literal may be evaluated after the
	// calls that follow it.
	o := &api.Object{}
	o.Key = string(d.view())
	o.RV = d.uvarint()
	o.RVAt = int(d.uvarint())
	ns := d.view()
	o.Namespace = d.shared(ns)
	name := d.view()
	var ok bool
	if o.Name, ok = within(o.Key, len(o.Key)-len(name), name); !ok {
		o.Name = string(name)
	}
	o.UID = string(d.view())
	if m := d.strMap(); m != nil {
		o.Labels = labels.Set(m)
	}
	if m := d.strMap(); m != nil {
		o.Fields = fields.Set(m)
	}
	o.Raw = d.bytes()
	return o
}
