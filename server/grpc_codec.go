package server

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the "proto" codec that grpcCodec wraps
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// grpcCodec is grpc-go's proto codec with a finer buffer pool for what
// the server sends (B202). grpc-go marshals a message of 1 KiB or more
// into a pooled buffer of its default tiers (256 B, 4, 16, 32 KiB, 1 MiB),
// where it stays until written to the wire: a 1.1 KB event takes 4 KiB,
// a 70 KB one 1 MiB. A stream may queue 64 KiB of messages
// (grpcWriteQuota), so with the default tiers one stalled stream could
// pin up to 16 times that; with every power of two from 1 KiB to 4 MiB a
// buffer is at most twice its message. Unmarshalling is grpc-go's own.
// Stateless (the pool is safe for concurrent use).
type grpcCodec struct {
	encoding.CodecV2 // grpc-go's "proto"
	pool             mem.BufferPool
}

func newGRPCCodec() (*grpcCodec, error) {
	base := encoding.GetCodecV2("proto")
	if base == nil {
		return nil, fmt.Errorf("server: grpc-go's proto codec is not registered")
	}
	exps := make([]uint8, 0, 13)
	for e := uint8(10); e <= 22; e++ { // 1 KiB .. 4 MiB (MaxBodyBytes and slack)
		exps = append(exps, e)
	}
	pool, err := mem.NewBinaryTieredBufferPool(exps...)
	if err != nil {
		return nil, err
	}
	return &grpcCodec{CodecV2: base, pool: pool}, nil
}

// Marshal encodes v into one buffer of the pool (or a plain slice below
// grpc-go's pooling threshold).
func (c *grpcCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return c.CodecV2.Marshal(v)
	}
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true} // Size just cached it; m is not mutated meanwhile
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	buf := c.pool.Get(size)
	out, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil {
		c.pool.Put(buf)
		return nil, err
	}
	*buf = out
	return mem.BufferSlice{mem.NewBuffer(buf, c.pool)}, nil
}
