package server

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// grpcSender is the gRPC side of a watch stream: one message per event,
// whose object is the event's shared JSON (never copied).
//
// stream.Send blocks while the stream's flow-control window is full, and
// only the stream's context (cancelled when the handler returns) ends the
// wait. So Send runs on a goroutine of its own (run), handed one message
// at a time, while the stream's goroutine waits for its result with a
// watchdog: when the watch's deadline or SlowClientTimeout passes first,
// send returns errStreamDeadline or errSlowClient and the handler
// returns, which cancels the stream's context, unblocks Send and ends
// run. grpc-go then ends the RPC once the client reads again or its
// connection closes (the stream's queued bytes stay bounded by its write
// quota meanwhile).
//
// send, start and fail are called by the stream's goroutine only.
type grpcSender struct {
	g        *grpcService
	stream   grpc.ServerStreamingServer[pb.WatchEvent]
	req      *request
	slow     time.Duration
	deadline time.Time
	out      chan *pb.WatchEvent // to run; unbuffered
	res      chan error          // from run; one result at a time
	timer    *time.Timer         // the watchdog, stopped between sends
}

func newGRPCSender(g *grpcService, stream grpc.ServerStreamingServer[pb.WatchEvent], req *request) *grpcSender {
	return &grpcSender{g: g, stream: stream, req: req, slow: g.s.cfg.SlowClientTimeout}
}

// start sends the headers (not flow-controlled) and starts run.
func (s *grpcSender) start(_ api.Watcher, deadline time.Time) error {
	if err := s.stream.SendHeader(metadata.Pairs(WatchStartedHeader, "true")); err != nil {
		return err
	}
	s.deadline = deadline
	s.out, s.res = make(chan *pb.WatchEvent), make(chan error, 1)
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	go s.run(s.stream.Context())
	return nil
}

// run Sends what send hands it until the stream's context ends. It never
// blocks on res (one result is outstanding at most, and res holds one).
func (s *grpcSender) run(ctx context.Context) {
	for {
		select {
		case m := <-s.out:
			s.res <- s.stream.Send(m)
		case <-ctx.Done():
			return
		}
	}
}

func (s *grpcSender) send(ev api.WatchEvent) error {
	limit, bySlow := sendLimit(time.Now(), s.deadline, s.slow)
	s.timer.Reset(time.Until(limit))
	defer s.timer.Stop()
	select {
	case s.out <- pbEvent(ev):
	case <-s.stream.Context().Done():
		return s.stream.Context().Err()
	}
	select {
	case err := <-s.res:
		return err
	case <-s.timer.C:
		return blockedErr(nil, limit, bySlow)
	}
}

// fail ends the RPC with the status of err.
func (s *grpcSender) fail(err error) error { return s.g.fail(err, s.req) }
