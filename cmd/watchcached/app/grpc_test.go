package app

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/internal/testkit"
)

// TestDaemon_GRPCServesThenDrains_B64 starts the daemon with gRPC on 127.0.0.1:0: health
// reports SERVING once the caches are ready, a create, list and watch go
// through gRPC, and Close ends the open watch cleanly (io.EOF) and leaves
// no goroutine behind (goleak in TestMain).
func TestDaemon_GRPCServesThenDrains_B64(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t)
	cfg.GRPCListen = "127.0.0.1:0"
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close(context.Background()) }()
	if !strings.HasPrefix(d.GRPCAddr, "127.0.0.1:") || strings.HasSuffix(d.GRPCAddr, ":0") {
		t.Fatalf("GRPCAddr %q", d.GRPCAddr)
	}
	if err := d.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	conn := testkit.DialGRPC(t, d.GRPCAddr)
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}

	c := client.New(conn)
	cms := &pb.Resource{Version: "v1", Resource: "configmaps"}
	created, err := c.Create(ctx, &pb.CreateRequest{Resource: cms, Namespace: "default",
		Json: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"},"data":{"k":"v"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx, &pb.ListRequest{Resource: cms})
	if err != nil || len(list.Items) != 1 || string(list.Items[0]) != string(created.Json) || list.ResourceVersion < created.ResourceVersion {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := c.Get(ctx, &pb.GetRequest{Resource: cms, Namespace: "default", Name: "missing"}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	w, err := c.Watch(ctx, &pb.WatchRequest{Resource: cms, ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ev, err := w.Next()
	if err != nil || ev.Type != api.Added || string(ev.Object) != string(created.Json) {
		t.Fatalf("watch: %+v %v", ev, err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if ev, err := w.Next(); err != io.EOF {
		t.Fatalf("after Close: %+v %v, want io.EOF", ev, err)
	}
}

// TestDaemon_B64_FrontendsStopTogether: while a gRPC call is still in
// flight at Close (here an open reflection stream, which only its client
// ends), HTTP has already stopped accepting: both frontends drain side by
// side, within one shutdown deadline.
func TestDaemon_B64_FrontendsStopTogether(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t)
	cfg.GRPCListen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn := testkit.DialGRPC(t, d.GRPCAddr)
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil { // the call is in flight now
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- d.Close(context.Background()) }()
	deadline := time.Now().Add(3 * time.Second) // well before the 5 s gRPC drain ends
	for {
		c, err := net.DialTimeout("tcp", d.HTTPAddr, time.Second)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("HTTP still accepts connections while gRPC drains")
		}
		runtime.Gosched()
	}
	_ = stream.CloseSend()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}
