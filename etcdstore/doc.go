// Package etcdstore is the direct-etcd implementation of api.Storage for one
// resource, and the low-level etcd operations the cache builds on.
//
// It owns everything that knows about etcd: the key layout
// (<prefix>/<resource>/<namespace>/<name>), the codec that turns a stored
// value plus its mod_revision into an immutable api.Object, reads with
// kube-apiserver's resourceVersion semantics (linearizable, serializable, at
// an exact revision, paginated with continue tokens), writes as etcd
// transactions (create on an absent key; update, delete with
// preconditions, JSON merge patch and the removal of corrupt values through
// one compare-and-swap loop on mod_revision, cas.go), watches that turn etcd
// events into api.Event, progress requests and compaction.
//
// It is not a cache: every call is at least one etcd round trip, and a Watch
// is one etcd watch. It does not know about HTTP, gRPC or Kubernetes Status
// objects; every error it returns wraps one of the api sentinels (usually as
// an *api.Error with kube-apiserver's wording), and the server maps those.
//
// The main trade-off is in the codec: objects stay JSON bytes as served, and
// only metadata, labels and the selectable fields are decoded beside them.
// The stored value carries no resourceVersion; Decode splices it in as the
// first member of "metadata" and remembers where (api.Object.RVAt), so that
// re-stamping an object with another revision never re-encodes it. The price
// is hand-written scanning instead of a generic decoder: internal/jsonscan
// validates and compacts each value in one pass, and the codec (codec.go)
// walks the compact bytes by offset.
//
// Values kube-apiserver writes for built-in kinds are Kubernetes protobuf:
// the codec translates each once, with apimachinery's serializers over
// client-go's scheme, to the JSON kube-apiserver serves, and then takes the
// JSON path (codec_proto.go). Values encrypted at rest cannot be read.
//
// Values under the prefix that do not decode (neither JSON nor protobuf of
// the resource's kind, encrypted, no name, a name or namespace that
// disagrees with the key) are corrupt: List skips them, a
// watch emits nothing for them (or DELETED when an object that did decode
// is overwritten by one that does not, so that a consumer of the watch
// agrees with a list), while Get, Update, Patch and Delete of the key fail
// with api.ErrCorrupt naming it, Create finds the key taken, and only
// DeleteCorrupt removes it (see corrupt.go). Each such key is logged once
// and reported to Config.OnDecodeError on every read.
package etcdstore
