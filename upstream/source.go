package upstream

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/api"
)

// WatchList modes of Config.WatchList.
const (
	// WatchListAuto tries a WatchList (sendInitialEvents=true) and falls
	// back to a paged LIST for good when the upstream does not end its
	// initial events with the initial-events-end bookmark.
	WatchListAuto = ""
	// WatchListOn always lists through a WatchList.
	WatchListOn = "on"
	// WatchListOff always lists with a paged LIST.
	WatchListOff = "off"
)

// Config configures a Source.
type Config struct {
	// REST is how to reach the upstream (server URL, TLS, credentials).
	// Required. Its content type and serializer are replaced: the Source
	// speaks JSON only.
	REST *rest.Config
	// Resource is the resource followed; its Kind and Namespaced must be
	// the upstream's (see Discover). Required.
	Resource *api.Resource
	// Prefix is the key prefix the objects' Keys are built under, default
	// "/registry": keys only order objects and name them in continue
	// tokens, which then move between this Source and the upstream.
	Prefix string
	// WatchList is WatchListAuto, WatchListOn or WatchListOff.
	WatchList string
	// Backoff bounds the retries of a request the upstream answered 429
	// or 5xx (or could not be reached for): the first delay, doubling with
	// jitter up to MaxBackoff, for at most Retries attempts. Defaults
	// 100 ms, 2 s, 5.
	Backoff, MaxBackoff time.Duration
	Retries             int
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// HTTPClient, if set, carries the requests (the REST config's
	// transport otherwise): sources of one upstream share it, so that
	// their owner can close its connections when it stops.
	HTTPClient *http.Client
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.REST == nil:
		return errors.New("upstream: Config.REST is required")
	case c.Resource == nil:
		return errors.New("upstream: Config.Resource is required")
	case c.WatchList != WatchListAuto && c.WatchList != WatchListOn && c.WatchList != WatchListOff:
		return fmt.Errorf("upstream: WatchList %q: want %q, %q or %q", c.WatchList, WatchListAuto, WatchListOn, WatchListOff)
	}
	if c.Prefix == "" {
		c.Prefix = "/registry"
	}
	if c.Backoff == 0 {
		c.Backoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 2 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 5
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Source follows one resource of an upstream API server. It implements
// cacher.Source: reads (Get, List, ListAll, CurrentRevision, Compacted)
// are requests to the upstream; WatchEvents is one watch of it; writes
// are refused (the HTTP frontend forwards them to the upstream instead).
// Safe for concurrent use; WatchEvents streams are meant to be read one
// at a time (the reflector's), as the previous-state table they keep is
// shared.
type Source struct {
	cfg    Config
	res    *api.Resource
	prefix string // the resource's key prefix, e.g. "/registry/pods/"
	client *rest.RESTClient
	dec    decoder
	log    *slog.Logger

	// watchListOff is set once the upstream has shown it does not serve
	// WatchList (auto mode): lists are paged LISTs from then on.
	watchListOff atomic.Bool

	// mu guards latest and pending. It is held while a watch item is
	// handed over, so a stream that has been stopped never updates latest
	// after its successor began.
	mu sync.Mutex
	// latest is every object's last state the reflector received, by key:
	// the previous state of the next event of the object (an upstream
	// watch carries none). Reset by each list.
	latest map[string]*api.Object
	// pending is the open stream of a WatchList whose initial events made
	// the last list; the next WatchEvents from its revision continues it.
	pending *stream
}

// New builds a Source; it sends no request.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := newRESTClient(cfg.REST, cfg.Resource, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	return &Source{
		cfg:    cfg,
		res:    cfg.Resource,
		prefix: cfg.Resource.Prefix(cfg.Prefix),
		client: client,
		dec:    newDecoder(cfg.Resource, cfg.Prefix),
		log:    cfg.Logger.With("resource", cfg.Resource.GroupResource(), "source", "upstream"),
		latest: map[string]*api.Object{},
	}, nil
}

// newRESTClient is a JSON-only REST client for the resource's group
// version. Only metav1.Status is decoded through the scheme (errors);
// objects are read as raw bytes.
func newRESTClient(base *rest.Config, res *api.Resource, hc *http.Client) (*rest.RESTClient, error) {
	cfg := rest.CopyConfig(base)
	gv := schema.GroupVersion{Group: res.Group, Version: res.Version}
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if res.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.ContentType = runtime.ContentTypeJSON
	cfg.AcceptContentTypes = runtime.ContentTypeJSON
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		// No client-side rate limit (client-go's default is 5 QPS): the
		// Source sends one watch, its lists and at most one revision
		// request in flight at a time (the cacher's batcher), and a
		// limit would only delay consistent reads.
		cfg.QPS = -1
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "watchcached-upstream"
	}
	var c *rest.RESTClient
	var err error
	if hc != nil {
		c, err = rest.RESTClientForConfigAndClient(cfg, hc)
	} else {
		c, err = rest.RESTClientFor(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	return c, nil
}

// Resource describes the followed resource.
func (s *Source) Resource() *api.Resource { return s.res }

// KeyPrefix is the key prefix of the resource's objects.
func (s *Source) KeyPrefix() string { return s.prefix }

// KnownCorrupt is always false: the upstream serves only what decodes.
func (s *Source) KnownCorrupt(string) bool { return false }

// collection is the request path segments of the resource's collection in
// namespace ("" for all namespaces or a cluster-scoped resource).
func (s *Source) request(verb, namespace string) *rest.Request {
	var r *rest.Request
	if verb == "GET" {
		r = s.client.Get()
	} else {
		r = s.client.Verb(verb)
	}
	if s.res.Namespaced && namespace != "" {
		r = r.Namespace(namespace)
	}
	return r.Resource(s.res.Resource)
}

// trimKey is key relative to the resource's prefix, as continue tokens
// name it.
func (s *Source) trimKey(key string) string { return strings.TrimPrefix(key, s.prefix) }
