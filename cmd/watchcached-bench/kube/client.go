package kube

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/watchcached/watchcached/api"
)

// Options say how to reach a server.
type Options struct {
	// Server is the base URL, e.g. "http://127.0.0.1:8080".
	Server string
	// CAFile verifies the server's certificate; CertFile and KeyFile
	// authenticate the client; Token is sent as a bearer token.
	CAFile, CertFile, KeyFile, Token string
	// Insecure skips verification of the server's certificate.
	Insecure bool
}

// Client is a REST client of one server. Safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New builds a client.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("kube: server %q is not an http(s) URL", o.Server)
	}
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // measure the server, not gzip
	}
	if u.Scheme == "https" || o.CAFile != "" || o.CertFile != "" {
		cfg, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	}
	return &Client{base: strings.TrimRight(o.Server, "/"), token: o.Token, http: &http.Client{Transport: tr}}, nil
}

func tlsConfig(o Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // opt-in flag
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kube: CA: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kube: CA %s holds no certificate", o.CAFile)
		}
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("kube: give both the client certificate and its key, or neither")
	}
	if o.CertFile != "" {
		c, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kube: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Path is the REST path of a resource's collection (ns "" means all
// namespaces) or, with a name, of one object.
func Path(r *api.Resource, ns, name string) string {
	p := "/api/" + r.Version
	if r.Group != "" {
		p = "/apis/" + r.Group + "/" + r.Version
	}
	if r.Namespaced && ns != "" {
		p += "/namespaces/" + ns
	}
	p += "/" + r.Resource
	if name != "" {
		p += "/" + name
	}
	return p
}

// StatusError is a response other than 200.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("kube: HTTP %d: %s", e.Code, e.Body) }

func (c *Client) do(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	return resp, nil
}

// Read GETs path and reads the whole body, returning its size.
func (c *Client) Read(ctx context.Context, path string, q url.Values) (int64, error) {
	resp, err := c.do(ctx, path, q)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

// ListMeta is what a page of a list tells the pager.
type ListMeta struct {
	ResourceVersion string `json:"resourceVersion"`
	Continue        string `json:"continue"`
}

// Page GETs one page of a list and returns its metadata.
func (c *Client) Page(ctx context.Context, path string, q url.Values) (ListMeta, error) {
	resp, err := c.do(ctx, path, q)
	if err != nil {
		return ListMeta{}, err
	}
	defer resp.Body.Close()
	var l struct {
		Metadata ListMeta `json:"metadata"`
	}
	// The list's metadata comes first on the wire; decoding the whole
	// body is the simple, robust way to find it.
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return ListMeta{}, fmt.Errorf("kube: list: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return l.Metadata, nil
}

// Watch is an open watch stream. Not safe for concurrent use; Close may
// be called from any goroutine.
type Watch struct {
	resp *http.Response
	r    *bufio.Reader
}

// Watch opens a watch on path with q (watch=true is added). It returns
// once the server has answered with the stream's headers.
func (c *Client) Watch(ctx context.Context, path string, q url.Values) (*Watch, error) {
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	q2.Set("watch", "true")
	resp, err := c.do(ctx, path, q2)
	if err != nil {
		return nil, err
	}
	return &Watch{resp: resp, r: bufio.NewReaderSize(resp.Body, 64<<10)}, nil
}

// Event is what the benchmark needs of a watch event.
type Event struct {
	Type string // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
	RV   int64  // the object's metadata.resourceVersion; 0 for ERROR
	Line []byte // the raw line, valid until the next call
}

// Next reads the next event. io.EOF means the server ended the stream.
func (w *Watch) Next() (Event, error) {
	line, err := w.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = w.r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		if len(line) == 0 || err != io.EOF {
			return Event{}, err
		}
	}
	return parseEvent(line)
}

// Close ends the stream.
func (w *Watch) Close() { w.resp.Body.Close() }

var (
	typePrefix = []byte(`{"type":"`)
	rvMarker   = []byte(`"resourceVersion":"`)
)

// parseEvent finds the type and the first resourceVersion of the object
// (metadata's own: the server writes metadata before spec) without
// decoding the whole event; anything unusual is decoded properly.
func parseEvent(line []byte) (Event, error) {
	ev := Event{Line: line}
	if bytes.HasPrefix(line, typePrefix) {
		rest := line[len(typePrefix):]
		if i := bytes.IndexByte(rest, '"'); i > 0 {
			ev.Type = string(rest[:i])
			if j := bytes.Index(rest, rvMarker); j > 0 {
				v := rest[j+len(rvMarker):]
				if k := bytes.IndexByte(v, '"'); k > 0 {
					if rv, err := strconv.ParseInt(string(v[:k]), 10, 64); err == nil {
						ev.RV = rv
						return ev, nil
					}
				}
			}
			if ev.Type == "ERROR" {
				return ev, nil
			}
		}
	}
	var full struct {
		Type   string `json:"type"`
		Object struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		} `json:"object"`
	}
	if err := json.Unmarshal(line, &full); err != nil {
		return Event{}, fmt.Errorf("kube: watch event: %w", err)
	}
	ev.Type = full.Type
	if full.Type != "ERROR" {
		rv, err := strconv.ParseInt(full.Object.Metadata.ResourceVersion, 10, 64)
		if err != nil {
			return Event{}, fmt.Errorf("kube: watch event RV %q: %w", full.Object.Metadata.ResourceVersion, err)
		}
		ev.RV = rv
	}
	return ev, nil
}
