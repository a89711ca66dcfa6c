package upstream

import (
	"fmt"
	"net/http"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/api"
)

// Discover asks the upstream's discovery about each configured resource
// and returns copies of them with the upstream's kind and scope (and its
// short names and categories where the configuration gives none), plus a
// warning for each difference from the configuration and for each write
// verb the upstream does not serve. A resource the upstream does not
// serve, or serves without get, list and watch, is an error naming it.
//
// hc, if not nil, carries the requests (see Config.HTTPClient).
func Discover(cfg *rest.Config, hc *http.Client, resources []*api.Resource) ([]*api.Resource, []string, error) {
	var dc *discovery.DiscoveryClient
	var err error
	if hc != nil {
		dc, err = discovery.NewDiscoveryClientForConfigAndClient(cfg, hc)
	} else {
		dc, err = discovery.NewDiscoveryClientForConfig(cfg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("upstream discovery: %w", err)
	}
	byGV := map[string]map[string]*discoveredResource{}
	var out []*api.Resource
	var warnings []string
	for _, res := range resources {
		gv := res.GroupVersion()
		if byGV[gv] == nil {
			list, err := dc.ServerResourcesForGroupVersion(gv)
			switch {
			case apierrors.IsNotFound(err):
				return nil, nil, fmt.Errorf("upstream discovery: resource %s: the upstream serves no group version %s", res.GroupResource(), gv)
			case err != nil:
				return nil, nil, fmt.Errorf("upstream discovery of %s: %w", gv, err)
			}
			byGV[gv] = map[string]*discoveredResource{}
			for i := range list.APIResources {
				ar := &list.APIResources[i]
				byGV[gv][ar.Name] = &discoveredResource{kind: ar.Kind, namespaced: ar.Namespaced, verbs: ar.Verbs,
					shortNames: ar.ShortNames, categories: ar.Categories}
			}
		}
		d := byGV[gv][res.Resource]
		if d == nil {
			return nil, nil, fmt.Errorf("upstream discovery: resource %s is not served by the upstream (group version %s)", res.GroupResource(), gv)
		}
		r, w, err := d.apply(res)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
		warnings = append(warnings, w...)
	}
	return out, warnings, nil
}

type discoveredResource struct {
	kind              string
	namespaced        bool
	verbs, shortNames []string
	categories        []string
}

// apply is a copy of res as the upstream serves it.
func (d *discoveredResource) apply(res *api.Resource) (*api.Resource, []string, error) {
	for _, v := range []string{"get", "list", "watch"} {
		if !slices.Contains(d.verbs, v) {
			return nil, nil, fmt.Errorf("upstream discovery: resource %s cannot be followed: the upstream does not serve %q on it (verbs %v)", res.GroupResource(), v, d.verbs)
		}
	}
	var warnings []string
	r := *res
	if r.Kind != d.kind {
		warnings = append(warnings, fmt.Sprintf("resource %s: kind %q configured, the upstream's is %q", res.GroupResource(), r.Kind, d.kind))
		r.Kind = d.kind
	}
	if r.Namespaced != d.namespaced {
		warnings = append(warnings, fmt.Sprintf("resource %s: namespaced %v configured, the upstream's is %v", res.GroupResource(), r.Namespaced, d.namespaced))
		r.Namespaced = d.namespaced
	}
	if len(r.ShortNames) == 0 {
		r.ShortNames = d.shortNames
	}
	if len(r.Categories) == 0 {
		r.Categories = d.categories
	}
	for _, v := range []string{"create", "update", "patch", "delete"} {
		if !slices.Contains(d.verbs, v) {
			warnings = append(warnings, fmt.Sprintf("resource %s: the upstream does not serve %q; such writes get its answer", res.GroupResource(), v))
		}
	}
	return &r, warnings, nil
}
