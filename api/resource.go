package api

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Resource describes one resource type served by watchcached: its REST
// identity, its scope, its selectable fields and where it lives in etcd.
// It is configuration: built once, then read-only and safe to share.
type Resource struct {
	Group    string `json:"group,omitempty"`
	Version  string `json:"version"`
	Resource string `json:"resource"` // plural, e.g. "pods"
	Kind     string `json:"kind"`     // e.g. "Pod"
	// Namespaced is false for cluster-scoped resources (nodes, namespaces).
	Namespaced bool `json:"namespaced"`
	// SelectableFields are the field paths besides metadata.name and
	// metadata.namespace that field selectors may use, e.g. "spec.nodeName".
	SelectableFields []string `json:"selectableFields,omitempty"`
	// IndexedFields are the selectable fields the cache keeps an index for.
	IndexedFields []string `json:"indexedFields,omitempty"`
	// FieldPaths maps a selectable field to the JSON path it is read
	// from when the two differ (kube-apiserver's jobs select
	// "status.successful" from status.succeeded); absent fields are read
	// from the path of their own name.
	FieldPaths map[string]string `json:"fieldPaths,omitempty"`
	// FieldDefaults maps a selectable field to its value when the object
	// lacks it, as a Go zero value renders in kube-apiserver's field sets:
	// "false" for an omitted boolean, "0" for an omitted number.
	FieldDefaults map[string]string `json:"fieldDefaults,omitempty"`
	// ShortNames and Categories are served in discovery, so that
	// `kubectl get po` and `kubectl get all` find the resource.
	ShortNames []string `json:"shortNames,omitempty"`
	Categories []string `json:"categories,omitempty"`
	// SingularName and ListKindName override the singular name served in
	// discovery (default: the kind in lower case) and the kind of a list
	// (default: the kind + "List"), as a CRD's names may.
	SingularName string `json:"singularName,omitempty"`
	ListKindName string `json:"listKind,omitempty"`
	// SharesStorageWith names (as GroupResource) another configured
	// resource whose objects this one serves too, under the same key
	// prefix: two groups or versions of one stored resource. Only such a
	// declared pair may have equal key prefixes.
	SharesStorageWith string `json:"sharesStorageWith,omitempty"`
	// RewriteAPIVersion serves every object with this resource's
	// apiVersion whatever apiVersion it was stored with: the versions of
	// a CRD whose conversion strategy is None share one key prefix, and
	// kube-apiserver converts between them by changing apiVersion alone.
	RewriteAPIVersion bool `json:"rewriteAPIVersion,omitempty"`
	// KeyPrefix overrides the key prefix under the etcd prefix (default
	// "<resource>" for the core group, "<group>/<resource>" otherwise).
	KeyPrefix string `json:"keyPrefix,omitempty"`
	// Cache false serves the resource straight from etcd.
	Cache *bool `json:"cache,omitempty"`
	// Subresources are the status and scale subresources it serves.
	Subresources *Subresources `json:"subresources,omitempty"`
	// PrinterColumns are the columns of its server-side table after
	// NAME; none gives kube-apiserver's default (NAME, AGE) unless the
	// kind is one kube-apiserver prints itself (pods, deployments, ...).
	PrinterColumns []PrinterColumn `json:"printerColumns,omitempty"`
}

// CacheEnabled reports whether the resource is served from the cache.
func (r *Resource) CacheEnabled() bool { return r.Cache == nil || *r.Cache }

// GroupVersion is the apiVersion of the resource's objects: "v1" or "apps/v1".
func (r *Resource) GroupVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// GroupResource is "pods" or "deployments.apps", as Status messages name it.
func (r *Resource) GroupResource() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// ListKind is the kind of a list of the resource, e.g. "PodList".
func (r *Resource) ListKind() string {
	if r.ListKindName != "" {
		return r.ListKindName
	}
	return r.Kind + "List"
}

// Singular is the singular name of the resource in discovery, e.g. "pod".
func (r *Resource) Singular() string {
	if r.SingularName != "" {
		return r.SingularName
	}
	return strings.ToLower(r.Kind)
}

// Prefix is the etcd key prefix of all objects of the resource, with a
// trailing slash: "/registry/pods/".
func (r *Resource) Prefix(etcdPrefix string) string {
	p := r.KeyPrefix
	if p == "" {
		p = r.Resource
		if r.Group != "" {
			p = r.Group + "/" + r.Resource
		}
	}
	return strings.TrimRight(etcdPrefix, "/") + "/" + strings.Trim(p, "/") + "/"
}

// NamespacePrefix is the prefix of one namespace's objects,
// "/registry/pods/ns1/" (the trailing slash keeps ns1 from matching ns10);
// for "" or a cluster-scoped resource, the resource prefix.
func (r *Resource) NamespacePrefix(etcdPrefix, namespace string) string {
	if !r.Namespaced || namespace == "" {
		return r.Prefix(etcdPrefix)
	}
	return r.Prefix(etcdPrefix) + namespace + "/"
}

// Key is the etcd key of one object.
func (r *Resource) Key(etcdPrefix, namespace, name string) string {
	if r.Namespaced {
		return r.Prefix(etcdPrefix) + namespace + "/" + name
	}
	return r.Prefix(etcdPrefix) + name
}

var (
	dnsLabel  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	groupName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	kindName  = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
)

// Validate checks the description; every problem is reported with the
// resource's name so a config error is easy to find.
func (r *Resource) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("resource %q: %s", r.GroupResource(), fmt.Sprintf(format, args...))
	}
	switch {
	case !dnsLabel.MatchString(r.Resource):
		return bad("resource must be a lower-case plural name")
	case r.Group != "" && !groupName.MatchString(r.Group):
		return bad("invalid group %q", r.Group)
	case !dnsLabel.MatchString(r.Version):
		return bad("invalid version %q", r.Version)
	case !kindName.MatchString(r.Kind):
		return bad("invalid kind %q", r.Kind)
	case r.ListKindName != "" && !kindName.MatchString(r.ListKindName):
		return bad("invalid listKind %q", r.ListKindName)
	case r.SingularName != "" && !dnsLabel.MatchString(r.SingularName):
		return bad("invalid singularName %q", r.SingularName)
	}
	if r.KeyPrefix != "" && path.Clean("/"+strings.Trim(r.KeyPrefix, "/")) != "/"+strings.Trim(r.KeyPrefix, "/") {
		return bad("keyPrefix %q is not a clean path", r.KeyPrefix)
	}
	seen := map[string]bool{}
	for _, f := range r.SelectableFields {
		if !validFieldPath(f) {
			return bad("invalid selectable field %q", f)
		}
		seen[f] = true
	}
	for _, f := range r.IndexedFields {
		if !seen[f] && f != "metadata.name" && f != "metadata.namespace" {
			return bad("indexed field %q is not selectable", f)
		}
	}
	for f, p := range r.FieldPaths {
		if !seen[f] {
			return bad("fieldPaths: field %q is not selectable", f)
		}
		if !validFieldPath(p) {
			return bad("fieldPaths: invalid path %q for field %q", p, f)
		}
	}
	for f := range r.FieldDefaults {
		if !seen[f] {
			return bad("fieldDefaults: field %q is not selectable", f)
		}
	}
	if err := r.validateSubresources(); err != nil {
		return err
	}
	return r.validateNames()
}

// validateNames checks the short names and categories: lower-case DNS
// labels, as kubectl types them.
func (r *Resource) validateNames() error {
	for _, n := range r.ShortNames {
		if !dnsLabel.MatchString(n) {
			return fmt.Errorf("resource %q: invalid short name %q", r.GroupResource(), n)
		}
	}
	for _, c := range r.Categories {
		if !dnsLabel.MatchString(c) {
			return fmt.Errorf("resource %q: invalid category %q", r.GroupResource(), c)
		}
	}
	return nil
}

// validFieldPath reports whether p is a dotted path of non-empty segments.
func validFieldPath(p string) bool {
	return p != "" && !strings.HasPrefix(p, ".") && !strings.HasSuffix(p, ".") && !strings.Contains(p, "..")
}

// ValidateName checks an object name from a path or body: non-empty, no
// "/", not "." or "..", no NUL, at most 253 bytes (names with "/" or ".."
// could escape the key layout). The error wraps ErrBadRequest.
func ValidateName(field, name string) error {
	switch {
	case name == "":
		return BadParam(field, "%s is required", field)
	case name == "." || name == "..":
		return BadParam(field, "%s may not be %q", field, name)
	case strings.ContainsAny(name, "/%\x00"):
		return BadParam(field, "%s %q may not contain '/', '%%' or NUL", field, name)
	case len(name) > 253:
		return BadParam(field, "%s may not be longer than 253 characters", field)
	}
	return nil
}
