package snapshot

import "errors"

// Why a snapshot is refused; Load's errors wrap exactly one of them and
// read as the one-line reason the cache logs.
var (
	// ErrNotFound: there is no snapshot file (first start, or removed).
	ErrNotFound = errors.New("no snapshot")
	// ErrTruncated: the file ends before its end marker.
	ErrTruncated = errors.New("snapshot truncated")
	// ErrCorrupt: the checksum, the header or an entry is wrong.
	ErrCorrupt = errors.New("snapshot corrupt")
	// ErrVersion: the file is of another format version.
	ErrVersion = errors.New("snapshot of another format version")
	// ErrConfig: the file was written for another resource configuration.
	ErrConfig = errors.New("snapshot of another resource configuration")
	// ErrCluster: the file was written from another etcd cluster.
	ErrCluster = errors.New("snapshot of another etcd cluster")
)
