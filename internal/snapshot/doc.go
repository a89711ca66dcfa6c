// Package snapshot is the file format of warm restarts: a cache's store at
// one revision R, written to the data directory so that a restarted cache
// starts from it and watches etcd from R instead of listing everything
// again (docs/scaling.md, "Warm restart").
//
// A file is versioned, checksummed and names what it holds: the resource
// configuration it was decoded with (a fingerprint) and the etcd cluster it
// came from. Anything else than an exact match is refused with an error
// wrapping one of the sentinels in errors.go, and the cache starts cold.
//
// Layout (version 1, integers little-endian, varints as encoding/binary):
//
//	magic    "WCSNAP\n\x00"            8 bytes
//	version  uint32                    4 bytes
//	hdrLen   uint32                    4 bytes
//	header   JSON (Header)             hdrLen bytes
//	entries  Header.Count times: uvarint len(key), key, uvarint rv, uvarint len(raw), raw
//	crc      uint32, CRC-32C of every byte before it
//	end      "WCSNEND\n"               8 bytes
//
// An entry holds an object's key, mod revision and served JSON; loading
// decodes the JSON again with the resource's own decoder, so labels and
// selectable fields are derived as the running configuration derives them
// and a value the decoder refuses makes the whole file refused.
//
// The package does the file IO only; the cache (cacher.Config.Warm) decides
// when to load and save. File is safe for concurrent use by one cache (its
// Save calls are serialized by the cache).
package snapshot
