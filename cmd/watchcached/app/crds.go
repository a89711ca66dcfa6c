package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/server"
)

// crdServer serves the custom resources of the CRDs stored in etcd (B190):
// it watches the CRDs' own storage and, whenever the set of established
// CRDs' served versions changes, starts a storage (a cache, in general)
// for each new resource, publishes the new set to the server (which swaps
// its resource table at once) and then stops the storages of the
// resources that went away, which ends their watches. A CRD whose
// resource is configured already (a built-in of the catalogue, say) is
// not served and is logged once.
//
// Everything but the configuration is owned by the goroutine of run; stop
// (from goRun) waits for it, and run stops every storage it started
// before it returns.
type crdServer struct {
	// crds is the storage of apiextensions.k8s.io customresourcedefinitions.
	crds api.Storage
	// start builds and starts the storage of a resource; stop stops it.
	start func(*api.Resource) (st api.Storage, stop func(), err error)
	// publish replaces the server's dynamic storages.
	publish func([]api.Storage) error
	// configured holds the configured resources' "<groupVersion>/<resource>".
	configured map[string]bool
	log        *slog.Logger
	// retry is the pause before a broken watch of the CRDs is reopened.
	retry time.Duration
	// establisher, when set, marks new CRDs Established (B193,
	// crd_establish.go); nil in front of a real cluster.
	establisher api.StatusWriter

	defs    map[string][]*api.Resource // CRD key -> its resources (run's goroutine)
	served  map[string]*servedCR       // "<groupVersion>/<resource>" -> storage (run's goroutine)
	refused map[string]string          // CRD key -> why it is not served, logged once (run's goroutine)
}

// servedCR is one custom resource being served.
type servedCR struct {
	res  *api.Resource
	st   api.Storage
	stop func()
}

func newCRDServer(crds api.Storage, configured []*api.Resource, log *slog.Logger,
	start func(*api.Resource) (api.Storage, func(), error), publish func([]api.Storage) error) *crdServer {
	c := &crdServer{crds: crds, start: start, publish: publish, configured: map[string]bool{}, log: log,
		retry: time.Second, served: map[string]*servedCR{}, refused: map[string]string{}}
	for _, r := range configured {
		c.configured[r.GroupVersion()+"/"+r.Resource] = true
	}
	return c
}

// run follows the CRDs until ctx ends, reopening the watch after a pause
// when it breaks, then stops every custom resource's storage.
func (c *crdServer) run(ctx context.Context) {
	defer c.stopAll()
	for {
		err := c.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("watch of CustomResourceDefinitions ended; reopening", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.retry):
		}
	}
}

// follow lists the CRDs, applies what they define, then watches them from
// the list's revision and applies every change as it comes.
func (c *crdServer) follow(ctx context.Context) error {
	if w, ok := c.crds.(interface{ WaitReady(context.Context) error }); ok {
		if err := w.WaitReady(ctx); err != nil {
			return err
		}
	}
	l, err := c.crds.List(ctx, api.ListOptions{})
	if err != nil {
		return err
	}
	c.defs = map[string][]*api.Resource{}
	for _, obj := range l.Items {
		c.establish(ctx, obj)
		c.define(obj)
	}
	c.apply()
	w, err := c.crds.Watch(ctx, api.WatchOptions{ResourceVersion: api.FormatRV(l.RV)})
	if err != nil {
		return err
	}
	defer w.Close()
	for {
		ev, err := w.Next(ctx)
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("the stream ended")
		case err != nil:
			return err
		}
		switch ev.Type {
		case api.Bookmark:
			continue
		case api.Deleted:
			delete(c.defs, ev.Object.Key)
			delete(c.refused, ev.Object.Key)
		default:
			c.establish(ctx, ev.Object)
			c.define(ev.Object)
		}
		c.apply()
	}
}

// establish marks obj Established when the follower is the one to do it
// and it is not yet; its next event then defines it.
func (c *crdServer) establish(ctx context.Context, obj *api.Object) {
	if c.establisher == nil {
		return
	}
	if wrote, err := establishCRD(ctx, c.establisher, obj, time.Now()); err != nil {
		c.log.Warn("CustomResourceDefinition not established", "crd", obj.Name, "err", err)
	} else if wrote {
		c.log.Info("CustomResourceDefinition established", "crd", obj.Name)
	}
}

// define records what one stored CRD defines.
func (c *crdServer) define(obj *api.Object) {
	res, err := crdResources(obj.Raw)
	if err != nil {
		c.refuse(obj, err.Error())
		delete(c.defs, obj.Key)
		return
	}
	for _, r := range res {
		if c.configured[r.GroupVersion()+"/"+r.Resource] {
			c.refuse(obj, "its resource "+r.GroupVersion()+"/"+r.Resource+" is configured already")
			delete(c.defs, obj.Key)
			return
		}
	}
	delete(c.refused, obj.Key)
	c.defs[obj.Key] = res
}

// refuse logs, once per reason, why a CRD is not served.
func (c *crdServer) refuse(obj *api.Object, why string) {
	if c.refused[obj.Key] == why {
		return
	}
	c.refused[obj.Key] = why
	c.log.Warn("CustomResourceDefinition not served", "crd", obj.Name, "reason", why)
}

// apply brings the served resources in line with the definitions: new
// resources start, the server gets the new set, the resources that went
// away (or changed) stop.
func (c *crdServer) apply() {
	want := map[string]*api.Resource{}
	var order []string
	for _, key := range slices.Sorted(maps.Keys(c.defs)) {
		for _, r := range c.defs[key] {
			id := r.GroupVersion() + "/" + r.Resource
			if _, dup := want[id]; dup {
				continue // two CRDs of one name cannot both be established; keep the first
			}
			want[id] = r
			order = append(order, id)
		}
	}
	var gone []*servedCR
	next := map[string]*servedCR{}
	for id, s := range c.served {
		if r, ok := want[id]; ok && reflect.DeepEqual(r, s.res) {
			next[id] = s
		} else {
			gone = append(gone, s)
		}
	}
	storages := make([]api.Storage, 0, len(order))
	for _, id := range order {
		s := next[id]
		if s == nil {
			st, stop, err := c.start(want[id])
			if err != nil {
				c.log.Error("cannot serve custom resource", "resource", id, "err", err)
				continue
			}
			s = &servedCR{res: want[id], st: st, stop: stop}
			next[id] = s
			c.log.Info("serving custom resource", "resource", id)
		}
		storages = append(storages, s.st)
	}
	if err := c.publish(storages); err != nil {
		c.log.Error("cannot publish custom resources", "err", err)
		for id, s := range next {
			if c.served[id] != s {
				s.stop()
			}
		}
		return
	}
	c.served = next
	for _, s := range gone {
		s.stop()
		c.log.Info("stopped serving custom resource", "resource", s.res.GroupVersion()+"/"+s.res.Resource)
	}
}

// stopAll withdraws and stops every custom resource.
func (c *crdServer) stopAll() {
	if len(c.served) == 0 {
		return
	}
	_ = c.publish(nil)
	for _, s := range c.served {
		s.stop()
	}
	c.served = map[string]*servedCR{}
}

// crdGroup and crdPlural name the resource of CustomResourceDefinitions.
const crdGroup, crdPlural = "apiextensions.k8s.io", "customresourcedefinitions"

// startCRDs starts serving custom resources when CRDs are to be served
// (Config.CRDsServed): from the configured CRD storage, each custom
// resource's storage built as a configured one is.
func (d *Daemon) startCRDs() error {
	if !d.cfg.CRDsServed() {
		return nil
	}
	var crds api.Storage
	for _, st := range d.storages {
		if r := st.Resource(); r.Group == crdGroup && r.Resource == crdPlural {
			crds = st
		}
	}
	if crds == nil {
		return errors.New("--serve-crds: needs apiextensions.k8s.io customresourcedefinitions among the served resources")
	}
	c := newCRDServer(crds, d.resources, d.log.With("component", "crds"), d.startCustomResource, d.server.SetDynamicStorages)
	if sw, ok := crds.(api.StatusWriter); ok && d.cfg.EffectiveWriteMode() == server.WriteModeEtcd {
		c.establisher = sw
	}
	d.stopCRDs = goRun(c.run)
	return nil
}

// startCustomResource builds the storage of a custom resource and what
// stops it.
func (d *Daemon) startCustomResource(res *api.Resource) (api.Storage, func(), error) {
	st, store, c, err := d.buildStorage(res)
	stop := func() {
		if c != nil {
			c.Close()
		}
		if store != nil {
			_ = store.Close()
		}
	}
	if err != nil {
		stop()
		return nil, nil, err
	}
	return st, stop, nil
}
