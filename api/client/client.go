package client

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// Client calls one watchcached gRPC server. It is safe for concurrent use,
// as the underlying connection is.
type Client struct {
	conn *grpc.ClientConn // nil when built by New
	rpc  pb.WatchCacheClient
}

// Flow-control windows Dial sets: fixed, which turns off grpc-go's
// bandwidth-delay probing (a PING per burst of received data, which the
// server must read and answer; with one connection per watcher, fixed
// windows cut the server's CPU per delivered event by 25-30%).
// StreamWindow is how much the server may send on one stream before this
// client reads it.
const (
	StreamWindow = 1 << 20
	ConnWindow   = 16 << 20
)

// Dial connects to target (e.g. "127.0.0.1:8081"). Without options it uses
// a plaintext connection, as the daemon serves by default, and fixed
// flow-control windows (StreamWindow, ConnWindow); pass transport
// credentials or other windows to override them. The connection is made
// lazily, on the first call.
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	all := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStaticStreamWindowSize(StreamWindow), grpc.WithStaticConnWindowSize(ConnWindow)}, opts...)
	conn, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, rpc: pb.NewWatchCacheClient(conn)}, nil
}

// New wraps an existing connection; Close then does not close it.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: pb.NewWatchCacheClient(conn)}
}

// Close closes the connection Dial made.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Stub is the generated client, for calls without error translation.
func (c *Client) Stub() pb.WatchCacheClient { return c.rpc }

// Get returns one object. Errors wrap the api sentinels (see FromStatus).
func (c *Client) Get(ctx context.Context, in *pb.GetRequest, opts ...grpc.CallOption) (*pb.Object, error) {
	out, err := c.rpc.Get(ctx, in, opts...)
	return out, FromStatus(err)
}

// List returns one list or page.
func (c *Client) List(ctx context.Context, in *pb.ListRequest, opts ...grpc.CallOption) (*pb.ListResponse, error) {
	out, err := c.rpc.List(ctx, in, opts...)
	return out, FromStatus(err)
}

// Create stores a new object.
func (c *Client) Create(ctx context.Context, in *pb.CreateRequest, opts ...grpc.CallOption) (*pb.Object, error) {
	out, err := c.rpc.Create(ctx, in, opts...)
	return out, FromStatus(err)
}

// Update replaces an object.
func (c *Client) Update(ctx context.Context, in *pb.UpdateRequest, opts ...grpc.CallOption) (*pb.Object, error) {
	out, err := c.rpc.Update(ctx, in, opts...)
	return out, FromStatus(err)
}

// Patch applies a JSON merge patch.
func (c *Client) Patch(ctx context.Context, in *pb.PatchRequest, opts ...grpc.CallOption) (*pb.Object, error) {
	out, err := c.rpc.Patch(ctx, in, opts...)
	return out, FromStatus(err)
}

// Delete removes an object and returns its last state.
func (c *Client) Delete(ctx context.Context, in *pb.DeleteRequest, opts ...grpc.CallOption) (*pb.Object, error) {
	out, err := c.rpc.Delete(ctx, in, opts...)
	return out, FromStatus(err)
}
