# watchcached's container image: a static binary on a distroless base,
# running as a non-root user. Build: docker build -t watchcached .
# (cmd/watchcached's build_test.go builds the same binary with the same
# command, and checks that it is statically linked.)

FROM golang:1.26 AS build
WORKDIR /src
# The module download is its own layer: it changes only with go.sum.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/watchcached ./cmd/watchcached

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/watchcached /watchcached
# nonroot's uid and gid, numeric so that runAsNonRoot can check them.
USER 65532:65532
EXPOSE 8443 8444
ENTRYPOINT ["/watchcached"]
