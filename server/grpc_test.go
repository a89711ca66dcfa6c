package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// grpcFixture is a fixture's server also served over gRPC on a loopback
// listener, with a client.
type grpcFixture struct {
	*fixture
	client *client.Client
	conn   *grpc.ClientConn
}

func newGRPCFixture(t *testing.T, mutate ...func(*Config)) *grpcFixture {
	t.Helper()
	f := newFixture(t, mutate...)
	gs, err := f.srv.NewGRPCServer()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	c, err := client.Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		_ = conn.Close()
		f.srv.CloseWatches()
		gs.Stop()
	})
	return &grpcFixture{fixture: f, client: c, conn: conn}
}

var quietLog = slog.New(slog.DiscardHandler)

var podsPB = &pb.Resource{Version: "v1", Resource: "pods"}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestGRPCStatusTable checks every row of the one table: its gRPC code,
// the ErrorInfo (Kubernetes reason, HTTP code, field, cause, continue),
// RetryInfo where a client should wait, and that api/client maps the
// status back to the same sentinel and details.
func TestGRPCStatusTable(t *testing.T) {
	t.Parallel()
	want := map[error]codes.Code{
		api.ErrNotFound: codes.NotFound, api.ErrAlreadyExists: codes.AlreadyExists, api.ErrConflict: codes.Aborted,
		api.ErrExpired: codes.OutOfRange, api.ErrTooLargeRV: codes.Unavailable, api.ErrNotReady: codes.Unavailable,
		api.ErrInvalid: codes.InvalidArgument, api.ErrBadRequest: codes.InvalidArgument,
		api.ErrUnavailable: codes.Unavailable, api.ErrTimeout: codes.DeadlineExceeded,
		api.ErrCorrupt: codes.Internal, api.ErrUnsupportedMediaType: codes.InvalidArgument,
		api.ErrTooLarge: codes.ResourceExhausted, api.ErrUnauthorized: codes.Unauthenticated,
		api.ErrInternal: codes.Unknown, api.ErrMethodNotAllowed: codes.Unimplemented,
		api.ErrForbidden: codes.PermissionDenied,
	}
	if len(want) != len(statusTable) {
		t.Fatalf("table has %d rows, test knows %d", len(statusTable), len(want))
	}
	seen := map[string]bool{}
	for _, rule := range statusTable {
		in := &api.Error{Err: rule.sentinel, Message: "msg " + rule.sentinel.Error(), Field: "f", Continue: "tok"}
		if rule.sentinel == api.ErrNotReady {
			in.RetryAfterSeconds = 7
		}
		st := grpcStatus(quietLog, in, podsRes, "web-0")
		if st.Code() != want[rule.sentinel] || st.Message() != in.Message {
			t.Errorf("%v: %v %q, want %v", rule.sentinel, st.Code(), st.Message(), want[rule.sentinel])
		}
		pair := st.Code().String() + "/" + string(rule.reason)
		if seen[pair] {
			t.Errorf("(code, reason) %s is not unique", pair)
		}
		seen[pair] = true
		info, retry := grpcDetails(st)
		if info == nil || info.Reason != string(rule.reason) || info.Domain != GRPCErrorDomain ||
			info.Metadata["code"] != itoa(rule.code) || info.Metadata["field"] != "f" || info.Metadata["continue"] != "tok" {
			t.Errorf("%v: ErrorInfo %v", rule.sentinel, info)
		}
		wantRetry := map[error]time.Duration{api.ErrNotReady: 7 * time.Second, api.ErrTooLargeRV: time.Second}[rule.sentinel]
		if (retry == nil) != (wantRetry == 0) || retry != nil && retry.RetryDelay.AsDuration() != wantRetry {
			t.Errorf("%v: RetryInfo %v, want %v", rule.sentinel, retry, wantRetry)
		}
		back := api.AsError(client.FromStatus(st.Err()))
		if back == nil || !errors.Is(back, rule.sentinel) || back.Message != in.Message || back.Field != "f" ||
			back.Continue != "tok" || back.RetryAfterSeconds != int(wantRetry/time.Second) {
			t.Errorf("%v: round trip %+v", rule.sentinel, back)
		}
		if client.HTTPCode(st.Err()) != rule.code {
			t.Errorf("%v: HTTPCode %d", rule.sentinel, client.HTTPCode(st.Err()))
		}
	}
	tooLarge := api.AsError(client.FromStatus(grpcStatus(quietLog, api.Errorf(api.ErrTooLargeRV, "x"), nil, "").Err()))
	if tooLarge.Cause != "ResourceVersionTooLarge" {
		t.Errorf("too large RV cause %q", tooLarge.Cause)
	}
	if st := grpcStatus(quietLog, errors.New("boom"), nil, ""); st.Code() != codes.Internal || len(st.Details()) != 0 {
		t.Errorf("internal error: %v", st)
	}
}

// TestGRPCHealthAndReflection: the health service follows readiness, and
// reflection lists the services.
func TestGRPCHealthAndReflection(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t)
	ctx := bg(t)
	h := healthpb.NewHealthClient(f.conn)
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		r, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	if check("") != healthpb.HealthCheckResponse_SERVING || check("watchcached.v1.WatchCache") != healthpb.HealthCheckResponse_SERVING {
		t.Fatal("not SERVING")
	}
	if _, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); grpcstatus.Code(err) != codes.NotFound {
		t.Fatalf("unknown service: %v", err)
	}
	hw, err := h.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := hw.Recv(); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch: %v %v", r, err)
	}
	f.pods.setNotReady(true)
	if check("") != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatal("SERVING while a cache is not ready")
	}
	if r, err := hw.Recv(); err != nil || r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch after not ready: %v %v", r, err)
	}

	rc, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	for _, want := range []string{"watchcached.v1.WatchCache", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
	_ = rc.CloseSend()
}

// TestGRPCWatchStream_RefusalsBookmarksAndEnd_B36_B43: a rejected watch is Watch's error; events
// flow with bookmarks only when allowed; a watch error ends the stream
// with the mapped status; CloseWatches ends streams cleanly.
func TestGRPCWatchStream_RefusalsBookmarksAndEnd_B36_B43(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t)
	ctx := bg(t)
	_, err := f.client.Watch(ctx, &pb.WatchRequest{Resource: podsPB, SendInitialEvents: ptrTo(true)})
	if e := api.AsError(err); e == nil || !errors.Is(err, api.ErrInvalid) || e.Field != "resourceVersionMatch" {
		t.Fatalf("B36: %v", err)
	}
	_, err = f.client.Watch(ctx, &pb.WatchRequest{Resource: &pb.Resource{Version: "v1", Resource: "nope"}})
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown resource: %v", err)
	}

	a := add(t, f.pods, "default", "a", nil)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return newScriptWatcher([]api.WatchEvent{
			{Type: api.Added, Object: a, RV: a.RV},
			{Type: api.Bookmark, RV: a.RV + 5},
		}, api.Errorf(api.ErrExpired, "too old resource version: 1 (9)")), nil
	})
	for _, awb := range []bool{false, true} {
		w, err := f.client.Watch(ctx, &pb.WatchRequest{Resource: podsPB, AllowWatchBookmarks: awb})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			ev, err := w.Next()
			if err != nil {
				if !errors.Is(err, api.ErrExpired) || err.Error() != "too old resource version: 1 (9)" {
					t.Fatalf("end: %v", err)
				}
				break
			}
			got = append(got, string(ev.Type)+"@"+itoa(int(ev.ResourceVersion))+" "+string(ev.Object))
		}
		want := []string{"ADDED@" + itoa(int(a.RV)) + " " + string(a.Raw)}
		if awb {
			want = append(want, "BOOKMARK@"+itoa(int(a.RV+5))+" ")
		}
		if !slices.Equal(got, want) {
			t.Errorf("AWB=%v: got %q, want %q", awb, got, want)
		}
		w.Close()
	}

	f.pods.setWatch(nil) // the real store's watch: a's initial ADDED, then nothing
	w, err := f.client.Watch(ctx, &pb.WatchRequest{Resource: podsPB})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := w.Next(); err != nil || ev.Type != "ADDED" || string(ev.Object) != string(a.Raw) {
		t.Fatalf("initial event: %v %v", ev, err)
	}
	f.srv.CloseWatches()
	if _, err := w.Next(); err != io.EOF {
		t.Fatalf("after CloseWatches: %v, want io.EOF", err)
	}
	if _, err := f.client.Watch(ctx, &pb.WatchRequest{Resource: podsPB}); !errors.Is(err, api.ErrUnavailable) && grpcstatus.Code(err) != codes.Unavailable {
		t.Fatalf("watch after CloseWatches: %v", err)
	}
}

// TestGRPCWrites_RequestChecksAndRoundTrip_B50: request checks, the size limit, and a round trip
// (body checks are the storage's: see the conformance suite over gRPC).
func TestGRPCWrites_RequestChecksAndRoundTrip_B50(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t)
	ctx := bg(t)
	_, err := f.client.Create(ctx, &pb.CreateRequest{Resource: podsPB, Json: []byte(`{"metadata":{"name":"a"}}`)})
	if e := api.AsError(err); e == nil || e.Field != "namespace" {
		t.Fatalf("no namespace: %v", err)
	}
	big := make([]byte, DefaultMaxBodyBytes+1)
	if _, err := f.client.Create(ctx, &pb.CreateRequest{Resource: podsPB, Namespace: "default", Json: big}); !errors.Is(err, api.ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	o, err := f.client.Create(ctx, &pb.CreateRequest{Resource: podsPB, Namespace: "default",
		Json: []byte(`{"metadata":{"name":"a","namespace":"default"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.client.Get(ctx, &pb.GetRequest{Resource: podsPB, Namespace: "default", Name: "a"})
	if err != nil || string(got.Json) != string(o.Json) || got.ResourceVersion != o.ResourceVersion {
		t.Fatalf("get: %v %v", got, err)
	}
	if _, err := f.client.Delete(ctx, &pb.DeleteRequest{Resource: podsPB, Namespace: "default", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Get(ctx, &pb.GetRequest{Resource: podsPB, Namespace: "default", Name: "a"}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestWrites_SameMessageOverHTTPAndGRPC: the storage alone checks a
// written object, so a bad body gets the same code and message over both
// frontends.
func TestWrites_SameMessageOverHTTPAndGRPC(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t)
	ctx := bg(t)
	add(t, f.pods, "ns1", "web", nil)
	const pods = "/api/v1/namespaces/ns1/pods"
	for _, c := range []struct{ name, method, body, msg string }{
		{"NotJSON", http.MethodPost, `not json`, "the body of the request is not valid JSON: invalid character 'o' in literal null (expecting 'u')"},
		{"OtherKind", http.MethodPost, `{"kind":"ConfigMap","metadata":{"name":"x"}}`, "the kind in the data (ConfigMap) does not match the expected kind (Pod)"},
		{"OtherNamespace", http.MethodPost, `{"metadata":{"name":"x","namespace":"ns2"}}`, "the namespace of the provided object does not match the namespace sent on the request"},
		{"OtherName", http.MethodPut, `{"metadata":{"name":"other"}}`, "the name of the object (other) does not match the name on the URL (web)"},
		{"PatchMovesName", http.MethodPatch, `{"metadata":{"name":"other"}}`, "the name of the object (other) does not match the name on the URL (web)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, hdr, res := pods, []string{}, podsPB
			var err error
			switch c.method {
			case http.MethodPost:
				_, err = f.client.Create(ctx, &pb.CreateRequest{Resource: res, Namespace: "ns1", Json: []byte(c.body)})
			case http.MethodPut:
				path += "/web"
				_, err = f.client.Update(ctx, &pb.UpdateRequest{Resource: res, Namespace: "ns1", Name: "web", Json: []byte(c.body)})
			case http.MethodPatch:
				path, hdr = path+"/web", []string{"Content-Type", string(api.MergePatch)}
				_, err = f.client.Patch(ctx, &pb.PatchRequest{Resource: res, Namespace: "ns1", Name: "web", MergePatch: []byte(c.body)})
			}
			f.do(t, c.method, path, c.body, hdr...).expect(t, 400, status(400, "BadRequest", c.msg, ""))
			if !errors.Is(err, api.ErrBadRequest) || err.Error() != c.msg {
				t.Errorf("gRPC: %v, want ErrBadRequest %q", err, c.msg)
			}
		})
	}
}

// grpcDetails picks a gRPC status's ErrorInfo and RetryInfo details (nil
// when absent).
func grpcDetails(st *grpcstatus.Status) (info *errdetails.ErrorInfo, retry *errdetails.RetryInfo) {
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.RetryInfo:
			retry = d
		}
	}
	return info, retry
}
