package etcdstore

import (
	"bytes"
	"context"
	"encoding/json"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// generateNameAttempts is how many random names a create with
// generateName tries before it reports AlreadyExists.
const generateNameAttempts = 8

// Create stores a new object (B50): the body's namespace must match the
// request's, a name or generateName is required, uid and creationTimestamp
// are set when absent, and the write is a transaction that fails with
// ErrAlreadyExists when the key exists.
//
// Under the context's WriteOptions: unknown and duplicate fields follow
// fieldValidation (B212), the create is recorded in managedFields as an
// Update by FieldManager (B210), and a dry run (B211) checks that the name
// is free and answers the object it would store, without a
// resourceVersion, storing nothing.
func (s *Store) Create(ctx context.Context, namespace string, body []byte) (*api.Object, error) {
	d, name, gen, err := s.parseCreate(namespace, body)
	if err != nil {
		return nil, err
	}
	if err := fieldStrictness(ctx, d, s.strictErrors(body), s.undecodableBody); err != nil {
		return nil, err
	}
	tracked := false
	if name != "" {
		obj, taken, err := s.createAs(ctx, namespace, name, d, &tracked)
		if taken {
			return nil, api.Errorf(api.ErrAlreadyExists, "%s %q already exists", s.res.GroupResource(), name)
		}
		return obj, err
	}
	for range generateNameAttempts {
		if obj, taken, err := s.createAs(ctx, namespace, gen+nameSuffix(5), d, &tracked); !taken {
			return obj, err
		}
	}
	return nil, api.Errorf(api.ErrAlreadyExists, "%s with generateName %q: no free name found", s.res.GroupResource(), gen)
}

// parseCreate parses a create's body: the document with its namespace
// checked and set and uid and creationTimestamp filled in when absent, and
// the name and generateName it gives (at least one).
func (s *Store) parseCreate(namespace string, body []byte) (d document, name, gen string, err error) {
	if d, err = s.parseBody(body, namespace); err != nil {
		return d, "", "", err
	}
	if name, err = d.str("name"); err != nil {
		return d, "", "", err
	}
	if gen, err = d.str("generateName"); err != nil {
		return d, "", "", err
	}
	if name == "" && gen == "" {
		return d, "", "", api.BadParam("metadata.name", "name or generateName is required")
	}
	if rv, _ := d.md["resourceVersion"].(string); rv != "" && rv != "0" {
		// kube-apiserver's etcd3 store refuses it with a plain error, which
		// its handler answers as a 500 without a reason (B70).
		return d, "", "", api.Errorf(api.ErrInternal, "resourceVersion should not be set on objects to be created")
	}
	if uid, _ := d.md["uid"].(string); uid == "" {
		d.md["uid"] = newUID()
	}
	if ts, _ := d.md["creationTimestamp"].(string); ts == "" {
		d.md["creationTimestamp"] = nowTimestamp()
	}
	stampCreate(d)
	s.prepareCreate(d)
	return d, name, gen, nil
}

// createAs writes d as namespace/name if that key is free; taken reports
// that it is not (and is the only outcome without an object or an error).
// tracked says whether d's managedFields already record the create.
func (s *Store) createAs(ctx context.Context, namespace, name string, d document, tracked *bool) (obj *api.Object, taken bool, err error) {
	d.md["name"] = name
	if err := api.ValidateName("metadata.name", name); err != nil {
		return nil, false, err
	}
	if err := s.validateWrite(d, nil); err != nil {
		return nil, false, err
	}
	if !*tracked { // once, not again for each generated name
		s.trackUpdate(d, nil, api.WriteOptionsFrom(ctx).FieldManager)
		*tracked = true
	}
	key := s.key(namespace, name)
	val, obj, err := s.codec.encode(key, d)
	if err != nil {
		return nil, false, err
	}
	if api.WriteOptionsFrom(ctx).DryRun {
		return s.dryCreate(ctx, key, obj)
	}
	rev, ok, err := s.txn(ctx, "create", clientv3.Compare(clientv3.CreateRevision(key), "=", 0), clientv3.OpPut(key, string(val)))
	switch {
	case err != nil:
		return nil, false, err
	case !ok:
		return nil, true, nil
	}
	return obj.WithRV(rev), false, nil
}

// dryCreate answers a dry-run create of obj at key (B211): taken when
// the key exists, else obj without a resourceVersion.
func (s *Store) dryCreate(ctx context.Context, key string, obj *api.Object) (*api.Object, bool, error) {
	resp, err := s.client.Get(ctx, key, clientv3.WithCountOnly())
	switch {
	case err != nil:
		return nil, false, mapErr(err)
	case resp.Count > 0:
		return nil, true, nil
	}
	return withoutRV(obj), false, nil
}

// Update replaces an object (B51). A metadata.resourceVersion in the body
// is a precondition (ErrConflict when it is not current); without it the
// update is unconditional but the object must exist (ErrNotFound). uid and
// creationTimestamp are kept from the stored object; a different uid is
// ErrInvalid. An update that changes nothing writes nothing and returns the
// stored object. The context's WriteOptions apply as to a Create; a dry
// run answers the object as it would be stored, at the body's
// resourceVersion (none without one).
func (s *Store) Update(ctx context.Context, namespace, name string, body []byte) (*api.Object, error) {
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	d, pre, bodyUID, err := s.parseUpdate(namespace, name, body)
	if err != nil {
		return nil, err
	}
	if err := fieldStrictness(ctx, d, s.strictErrors(body), s.undecodableBody); err != nil {
		return nil, err
	}
	key := s.key(namespace, name)
	bodyTS := d.md["creationTimestamp"]
	bodyMF, hasMF := d.md["managedFields"]
	manager := api.WriteOptionsFrom(ctx).FieldManager
	return s.casObject(ctx, key, name, nil, func(cur seen) (decision, error) {
		if pre != 0 && pre != cur.obj.RV {
			return decision{}, s.conflict(name)
		}
		keepSystemFields(d, cur.obj, bodyUID, bodyTS)
		s.keepStatus(d, cur.obj)
		if err := s.validateWrite(d, cur.obj); err != nil {
			return decision{}, err
		}
		restoreField(d.md, "managedFields", bodyMF, hasMF)
		s.trackUpdate(d, cur.obj, manager)
		finalize := carryLifecycle(d, cur.obj)
		val, obj, err := s.codec.encode(key, d)
		switch {
		case err != nil:
			return decision{}, err
		case bytes.Equal(val, cur.value):
			return decision{obj: cur.obj}, nil
		case finalize:
			return decision{del: true, obj: cur.obj, once: pre != 0}, nil
		}
		return decision{put: val, obj: obj, once: pre != 0, dryRV: pre}, nil
	})
}

// restoreField sets m[k] back to v as the request gave it (absent when
// !had), undoing what an earlier round of a write did to it.
func restoreField(m map[string]any, k string, v any, had bool) {
	if had {
		m[k] = v
	} else {
		delete(m, k)
	}
}

// parseUpdate parses an update's body: the document with its namespace and
// name checked and set, the resourceVersion precondition (0: none) and the
// uid it gives ("" for none).
func (s *Store) parseUpdate(namespace, name string, body []byte) (d document, pre uint64, uid string, err error) {
	if d, err = s.parseBody(body, namespace); err != nil {
		return d, 0, "", err
	}
	if err = checkName(d, name); err != nil {
		return d, 0, "", err
	}
	rv, err := d.str("resourceVersion")
	if err != nil {
		return d, 0, "", err
	}
	if rv != "" {
		if pre, err = api.ParseRV("metadata.resourceVersion", rv); err != nil {
			return d, 0, "", err
		}
	}
	uid, err = d.str("uid")
	return d, pre, uid, err
}

// Delete removes an object and returns its last state stamped with the
// deletion's revision (B52). Preconditions that do not hold are
// ErrConflict; an absent object is ErrNotFound. The delete is a transaction
// on the mod_revision that was checked, retried when another write wins.
// An object with finalizers is not removed but marked (B101): it is
// written with deletionTimestamp and deletionGracePeriodSeconds 0 and
// returned as written; one already marked is returned as it is.
func (s *Store) Delete(ctx context.Context, namespace, name string, pre api.Preconditions) (*api.Object, error) {
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	return s.casObject(ctx, s.key(namespace, name), name, nil, func(cur seen) (decision, error) {
		if err := checkPreconditions(pre, cur.obj); err != nil {
			return decision{}, err
		}
		return s.decideDelete(cur)
	})
}

// checkPreconditions is kube-apiserver's check of a delete's
// preconditions against the stored object.
func checkPreconditions(pre api.Preconditions, cur *api.Object) error {
	if pre.UID != nil && *pre.UID != cur.UID {
		return api.Errorf(api.ErrConflict, "Precondition failed: UID in precondition: %s, UID in object meta: %s", *pre.UID, cur.UID)
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != api.FormatRV(cur.RV) {
		return api.Errorf(api.ErrConflict, "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %d", *pre.ResourceVersion, cur.RV)
	}
	return nil
}

// checkName sets the body's name from the path, or checks it matches.
func checkName(d document, name string) error {
	got, err := d.str("name")
	if err != nil {
		return err
	}
	if got != "" && got != name {
		return api.NameMismatch(got, name)
	}
	d.md["name"] = name
	return nil
}

// keepSystemFields carries uid (when the body gives none) and
// creationTimestamp over from the stored object cur, as kube-apiserver's
// BeforeUpdate does; bodyUID and bodyTS are the uid and creationTimestamp
// the request gave ("" and nil for none), restored in every round of the
// write. A uid that differs is left for validateWrite to refuse.
func keepSystemFields(d document, cur *api.Object, bodyUID string, bodyTS any) {
	switch {
	case bodyUID != "":
	case cur.UID != "":
		d.md["uid"] = cur.UID
	default:
		delete(d.md, "uid")
	}
	var old struct {
		Metadata struct {
			CreationTimestamp json.RawMessage `json:"creationTimestamp"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(cur.Raw, &old)
	switch ts := old.Metadata.CreationTimestamp; {
	case len(ts) > 0 && string(ts) != "null":
		d.md["creationTimestamp"] = ts
	case bodyTS != nil:
		d.md["creationTimestamp"] = bodyTS
	default:
		delete(d.md, "creationTimestamp")
	}
}

// decideDelete removes cur's object, or marks it when it has finalizers
// (B101).
func (s *Store) decideDelete(cur seen) (decision, error) {
	obj, err := parseObject(cur.obj.Raw, "stored object")
	if err != nil {
		return decision{del: true, obj: cur.obj}, nil
	}
	d, err := s.toDocument(obj)
	if err != nil || !markDeleting(d) {
		return decision{del: true, obj: cur.obj}, nil
	}
	val, marked, err := s.codec.encode(cur.obj.Key, d)
	switch {
	case err != nil:
		return decision{}, err
	case bytes.Equal(val, cur.value):
		return decision{obj: cur.obj}, nil
	}
	return decision{put: val, obj: marked, dryRV: cur.obj.RV}, nil
}
