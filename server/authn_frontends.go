package server

import (
	"context"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// withAuthentication authenticates every HTTP request before next serves
// it, with the user in the request's context, and answers 401 Unauthorized
// (kube-apiserver's Status) when authentication fails. The Authorization
// header of an authenticated request is removed, so nothing downstream can
// log or forward it. Safe for concurrent use.
func (s *Server) withAuthentication(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := presented{authorization: r.Header.Get(authorizationHeader)}
		if r.TLS != nil {
			c.certs = r.TLS.PeerCertificates
		}
		u, err := s.cfg.Authentication.authenticate(r.Context(), c)
		if err != nil {
			s.logUnauthenticated("http", r.RemoteAddr, r.URL.Path, err)
			writeError(w, s.log, errUnauthorized, nil)
			return
		}
		r.Header.Del(authorizationHeader)
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
	})
}

// logUnauthenticated logs a refused request at debug level: where from,
// what for and why, never the credential itself.
func (s *Server) logUnauthenticated(frontend, remote, target string, err error) {
	s.log.Debug("request not authenticated", "frontend", frontend, "remote", remote, "target", target, "reason", err.Error())
}

// authenticateGRPC finds the user of a call from its TLS peer and its
// "authorization" metadata, and returns ctx with the user, or the
// UNAUTHENTICATED error.
func (s *Server) authenticateGRPC(ctx context.Context, method string) (context.Context, error) {
	var c presented
	p, _ := peer.FromContext(ctx)
	if p != nil {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			c.certs = info.State.PeerCertificates
		}
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(authorizationGRPCMetaKey); len(v) > 0 {
			c.authorization = v[0]
		}
	}
	u, err := s.cfg.Authentication.authenticate(ctx, c)
	if err != nil {
		remote := ""
		if p != nil && p.Addr != nil {
			remote = p.Addr.String()
		}
		s.logUnauthenticated("grpc", remote, method, err)
		return nil, grpcError(s.log, errUnauthorized, nil, "")
	}
	return WithUser(ctx, u), nil
}

// unaryAuthn authenticates a unary call before it is admitted.
func (s *Server) unaryAuthn(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := s.authenticateGRPC(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// streamAuthn authenticates a streaming call before it is admitted.
func (s *Server) streamAuthn(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := s.authenticateGRPC(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &userStream{ServerStream: ss, ctx: ctx})
}

// userStream is a server stream whose context carries the user.
type userStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (u *userStream) Context() context.Context { return u.ctx }
