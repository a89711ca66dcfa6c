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
//	entries  Header.Count times: an api.Object's Key, RV, RVAt, Namespace,
//	         Name, UID, Labels, Fields and Raw (format.go's encoder)
//	crc      uint32, CRC-32C of every byte before it
//	end      "WCSNEND\n"               8 bytes
//
// An entry holds every field of an object, so loading builds objects
// without parsing their JSON (a warm start costs a fraction of a list's
// decoding). To prove the fields are what the running build would derive,
// one object in VerifyEvery (and the last) is decoded again from its
// served JSON with the resource's own decoder and compared field by field;
// any difference, or a value the decoder refuses, refuses the file.
//
// The package does the file IO only; the cache (cacher.Config.Warm) decides
// when to load and save. File is safe for concurrent use by one cache (its
// Save calls are serialized by the cache).
package snapshot
