package api

// Encoder gives objects' bytes in a wire format other than their JSON Raw
// (Kubernetes protobuf: api/kubeproto). Implementations are safe for
// concurrent use and give equal bytes for equal objects.
type Encoder interface {
	// Encode returns o's bytes in the encoder's format, computed from
	// o.Raw. The result is not modified afterwards.
	Encode(o *Object) ([]byte, error)
}

// encoded is one object's result of an Encoder.
type encoded struct {
	b   []byte
	err error
}

// Encoded returns o's bytes by enc: computed at most once per object (racing
// callers may both compute; one result wins and both are equal), then kept
// with the object, so that the store, snapshots, the event ring and every
// watcher and list share them, as they share Raw. An object keeps one such
// encoding: every caller must pass an encoder of the same format (a server
// uses one). An error is kept too: the object never encodes.
func (o *Object) Encoded(enc Encoder) ([]byte, error) {
	if e := o.alt.Load(); e != nil {
		return e.b, e.err
	}
	b, err := enc.Encode(o)
	e := &encoded{b: b, err: err}
	if !o.alt.CompareAndSwap(nil, e) {
		e = o.alt.Load()
	}
	return e.b, e.err
}
