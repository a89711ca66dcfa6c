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
)

// Version is the format version this package writes and reads.
const Version = 1

var (
	magic      = []byte("WCSNAP\n\x00")
	endMarker  = []byte("WCSNEND\n")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Header describes a snapshot file.
type Header struct {
	// Group, Version and Resource name the resource, for people reading
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

// Entry is one stored object: its key, mod revision and served JSON.
type Entry struct {
	Key string
	RV  uint64
	Raw []byte
}

// encoder writes the layout of doc.go, checksumming as it goes.
type encoder struct {
	w   *bufio.Writer
	crc hash.Hash32
	buf [3 * binary.MaxVarintLen64]byte
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

// entry appends one entry.
func (e *encoder) entry(key string, rv uint64, raw []byte) {
	n := binary.PutUvarint(e.buf[:], uint64(len(key)))
	e.write(e.buf[:n])
	if e.err == nil {
		_, e.err = e.w.WriteString(key)
	}
	n = binary.PutUvarint(e.buf[:], rv)
	n += binary.PutUvarint(e.buf[n:], uint64(len(raw)))
	e.write(e.buf[:n])
	e.write(raw)
	e.n++
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

// decode parses a whole file's bytes. Entries' Raw alias data.
func decode(data []byte) (Header, []Entry, error) {
	var h Header
	const fixed = 8 + 8
	if len(data) < fixed || !bytes.Equal(data[:8], magic) {
		if len(data) < 8 && bytes.HasPrefix(magic, data) {
			return h, nil, fmt.Errorf("%w: %d bytes, no header", ErrTruncated, len(data))
		}
		return h, nil, fmt.Errorf("%w: not a snapshot file (bad magic)", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(data[8:12]); v != Version {
		return h, nil, fmt.Errorf("%w: version %d, this build reads %d", ErrVersion, v, Version)
	}
	if len(data) < fixed+12 || !bytes.Equal(data[len(data)-8:], endMarker) {
		return h, nil, fmt.Errorf("%w: %d bytes, no end marker", ErrTruncated, len(data))
	}
	body, sum := data[:len(data)-12], binary.LittleEndian.Uint32(data[len(data)-12:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return h, nil, fmt.Errorf("%w: checksum %08x, file says %08x", ErrCorrupt, got, sum)
	}
	hl := int(binary.LittleEndian.Uint32(data[12:16]))
	if hl > len(body)-fixed {
		return h, nil, fmt.Errorf("%w: header length %d past the end", ErrCorrupt, hl)
	}
	if err := json.Unmarshal(body[fixed:fixed+hl], &h); err != nil {
		return h, nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	entries, err := decodeEntries(body[fixed+hl:], h.Count)
	return h, entries, err
}

// decodeEntries parses exactly count entries filling b.
func decodeEntries(b []byte, count int) ([]Entry, error) {
	if count < 0 || count > len(b) {
		return nil, fmt.Errorf("%w: header counts %d entries in %d bytes", ErrCorrupt, count, len(b))
	}
	entries := make([]Entry, count)
	for i := range entries {
		var key, raw []byte
		var rv uint64
		var ok bool
		if key, b, ok = lengthPrefixed(b); !ok {
			return nil, fmt.Errorf("%w: entry %d: bad key", ErrCorrupt, i)
		}
		if rv, b, ok = uvarint(b); !ok {
			return nil, fmt.Errorf("%w: entry %d: bad revision", ErrCorrupt, i)
		}
		if raw, b, ok = lengthPrefixed(b); !ok {
			return nil, fmt.Errorf("%w: entry %d: bad value", ErrCorrupt, i)
		}
		entries[i] = Entry{Key: string(key), RV: rv, Raw: raw}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last entry", ErrCorrupt, len(b))
	}
	return entries, nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}

func lengthPrefixed(b []byte) ([]byte, []byte, bool) {
	n, rest, ok := uvarint(b)
	if !ok || n > uint64(len(rest)) {
		return nil, b, false
	}
	return rest[:n:n], rest[n:], true
}
