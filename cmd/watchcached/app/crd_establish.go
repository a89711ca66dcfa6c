package app

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/watchcached/watchcached/api"
)

// When watchcached itself stores what clients write (--write-mode=etcd),
// nothing else plays the part of kube-apiserver's apiextensions
// controllers, which accept a new CRD's names and mark it Established. The
// CRD follower does it then (B193): a CRD seen without an Established
// condition gets, through the status subresource, the conditions
// NamesAccepted and Established (True) and its spec's names as accepted
// names (singular and listKind defaulted as kube-apiserver defaults them),
// as a kube-apiserver without name conflicts would write them. The
// write's own watch event then makes the CRD served. In front of a real
// cluster (reject or forward) the cluster's controllers do this and the
// follower only reads.

// establishTimeout bounds one establishing write.
const establishTimeout = 10 * time.Second

// establishCRD writes the Established status of the CRD obj when it has
// none; it reports whether it wrote. Errors are the caller's to log (the
// next event of the CRD tries again).
func establishCRD(ctx context.Context, crds api.StatusWriter, obj *api.Object, now time.Time) (bool, error) {
	var doc map[string]any
	if err := json.Unmarshal(obj.Raw, &doc); err != nil {
		return false, err
	}
	var c crd
	if err := json.Unmarshal(obj.Raw, &c); err != nil {
		return false, err
	}
	if hasCondition(&c, "Established") {
		return false, nil
	}
	doc["status"] = establishedStatus(&c, now)
	body, err := json.Marshal(doc)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, establishTimeout)
	defer cancel()
	_, err = crds.UpdateStatus(ctx, "", obj.Name, body)
	return err == nil, err
}

func hasCondition(c *crd, typ string) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == typ {
			return true
		}
	}
	return false
}

// establishedStatus is the status kube-apiserver's controllers give a CRD
// whose names conflict with nothing.
func establishedStatus(c *crd, now time.Time) map[string]any {
	names := c.Spec.Names
	if names.Singular == "" {
		names.Singular = strings.ToLower(names.Kind)
	}
	if names.ListKind == "" {
		names.ListKind = names.Kind + "List"
	}
	at := now.UTC().Format(time.RFC3339)
	var stored []string
	for _, v := range c.Spec.Versions {
		if v.Storage {
			stored = append(stored, v.Name)
		}
	}
	accepted := map[string]any{"plural": names.Plural, "singular": names.Singular, "kind": names.Kind, "listKind": names.ListKind}
	if len(names.ShortNames) > 0 {
		accepted["shortNames"] = names.ShortNames
	}
	if len(names.Categories) > 0 {
		accepted["categories"] = names.Categories
	}
	return map[string]any{
		"acceptedNames": accepted,
		"conditions": []map[string]any{
			{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": at},
			{"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": at},
		},
		"storedVersions": stored,
	}
}
