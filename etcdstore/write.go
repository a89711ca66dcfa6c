package etcdstore

import (
	"bytes"
	"context"
	"encoding/json"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// maxWriteRetries bounds the read-compare-write loops of Update, Delete and
// Patch when other writers keep winning the race.
const maxWriteRetries = 16

// generateNameAttempts is how many random names a create with
// generateName tries before it reports AlreadyExists.
const generateNameAttempts = 8

// Create stores a new object (B50): the body's namespace must match the
// request's, a name or generateName is required, uid and creationTimestamp
// are set when absent, and the write is a transaction that fails with
// ErrAlreadyExists when the key exists.
func (s *Store) Create(ctx context.Context, namespace string, body []byte) (*api.Object, error) {
	d, err := s.parseBody(body)
	if err != nil {
		return nil, err
	}
	if err := s.setNamespace(d, namespace); err != nil {
		return nil, err
	}
	name, err := d.str("name")
	if err != nil {
		return nil, err
	}
	gen, err := d.str("generateName")
	if err != nil {
		return nil, err
	}
	if name == "" && gen == "" {
		return nil, api.BadParam("metadata.name", "name or generateName is required")
	}
	if uid, _ := d.md["uid"].(string); uid == "" {
		d.md["uid"] = newUID()
	}
	if ts, _ := d.md["creationTimestamp"].(string); ts == "" {
		d.md["creationTimestamp"] = nowTimestamp()
	}
	attempts := 1
	if name == "" {
		attempts = generateNameAttempts
	}
	for range attempts {
		if name == "" {
			d.md["name"] = gen + nameSuffix(5)
		}
		n, _ := d.md["name"].(string)
		if err := api.ValidateName("metadata.name", n); err != nil {
			return nil, err
		}
		key := s.key(namespace, n)
		val, obj, err := s.encode(key, d)
		if err != nil {
			return nil, err
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, string(val))).
			Commit()
		if err != nil {
			return nil, mapErr(err)
		}
		if resp.Succeeded {
			return obj.WithRV(uint64(resp.Header.Revision)), nil
		}
		if attempts == 1 {
			return nil, api.Errorf(api.ErrAlreadyExists, "%s %q already exists", s.res.GroupResource(), n)
		}
	}
	return nil, api.Errorf(api.ErrAlreadyExists, "%s with generateName %q: no free name found", s.res.GroupResource(), gen)
}

// Update replaces an object (B51). A metadata.resourceVersion in the body
// is a precondition (ErrConflict when it is not current); without it the
// update is unconditional but the object must exist (ErrNotFound). uid and
// creationTimestamp are kept from the stored object; a different uid is
// ErrInvalid. An update that changes nothing writes nothing and returns the
// stored object.
func (s *Store) Update(ctx context.Context, namespace, name string, body []byte) (*api.Object, error) {
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	d, err := s.parseBody(body)
	if err != nil {
		return nil, err
	}
	if err := s.setNamespace(d, namespace); err != nil {
		return nil, err
	}
	if err := checkName(d, name); err != nil {
		return nil, err
	}
	rvStr, err := d.str("resourceVersion")
	if err != nil {
		return nil, err
	}
	var pre uint64
	if rvStr != "" {
		if pre, err = api.ParseRV("metadata.resourceVersion", rvStr); err != nil {
			return nil, err
		}
	}
	bodyUID, err := d.str("uid")
	if err != nil {
		return nil, err
	}
	key := s.key(namespace, name)
	for range maxWriteRetries {
		cur, stored, err := s.getStored(ctx, key)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, s.notFound(name)
		}
		if pre != 0 && pre != cur.RV {
			return nil, s.conflict(name)
		}
		if err := keepSystemFields(d, cur, bodyUID); err != nil {
			return nil, err
		}
		val, obj, err := s.encode(key, d)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(val, stored) {
			return cur, nil
		}
		ok, rev, err := s.putIf(ctx, key, cur.RV, val)
		if err != nil {
			return nil, err
		}
		if ok {
			return obj.WithRV(rev), nil
		}
		if pre != 0 {
			return nil, s.conflict(name)
		}
	}
	return nil, s.conflict(name)
}

// Delete removes an object and returns its last state stamped with the
// deletion's revision (B52). Preconditions that do not hold are
// ErrConflict; an absent object is ErrNotFound. The delete is a transaction
// on the mod_revision that was checked, retried when another write wins.
func (s *Store) Delete(ctx context.Context, namespace, name string, pre api.Preconditions) (*api.Object, error) {
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	key := s.key(namespace, name)
	for range maxWriteRetries {
		cur, _, err := s.getStored(ctx, key)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, s.notFound(name)
		}
		if pre.UID != nil && *pre.UID != cur.UID {
			return nil, api.Errorf(api.ErrConflict, "Precondition failed: UID in precondition: %s, UID in object meta: %s", *pre.UID, cur.UID)
		}
		if pre.ResourceVersion != nil && *pre.ResourceVersion != api.FormatRV(cur.RV) {
			return nil, api.Errorf(api.ErrConflict, "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %d", *pre.ResourceVersion, cur.RV)
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", int64(cur.RV))).
			Then(clientv3.OpDelete(key)).
			Commit()
		if err != nil {
			return nil, mapErr(err)
		}
		if resp.Succeeded {
			return cur.WithRV(uint64(resp.Header.Revision)), nil
		}
	}
	return nil, s.conflict(name)
}

// putIf writes val at key if its mod_revision is still rev.
func (s *Store) putIf(ctx context.Context, key string, rev uint64, val []byte) (bool, uint64, error) {
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", int64(rev))).
		Then(clientv3.OpPut(key, string(val))).
		Commit()
	if err != nil {
		return false, 0, mapErr(err)
	}
	return resp.Succeeded, uint64(resp.Header.Revision), nil
}

// getStored reads one key linearizably: the decoded object and the stored
// bytes, nil when absent, or ErrCorrupt naming the key when the value does
// not decode (B62: an update, patch or delete of it fails with 500 as in
// kube-apiserver, and only DeleteCorrupt removes it).
func (s *Store) getStored(ctx context.Context, key string) (*api.Object, []byte, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	if len(resp.Kvs) == 0 {
		s.forgetCorrupt(key)
		return nil, nil, nil
	}
	kv := resp.Kvs[0]
	obj, err := s.decodeOne(kv.Key, kv.Value, kv.ModRevision)
	if err != nil {
		return nil, nil, err
	}
	return obj, kv.Value, nil
}

func (s *Store) conflict(name string) error {
	return api.Errorf(api.ErrConflict,
		"Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again",
		s.res.GroupResource(), name)
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

// keepSystemFields carries uid and creationTimestamp over from the stored
// object cur; bodyUID is the uid the request gave ("" for none), which may
// not differ from the stored one.
func keepSystemFields(d document, cur *api.Object, bodyUID string) error {
	if bodyUID != "" && cur.UID != "" && bodyUID != cur.UID {
		return api.InvalidField("metadata.uid", bodyUID, "field is immutable")
	}
	if cur.UID != "" {
		d.md["uid"] = cur.UID
	} else if bodyUID == "" {
		delete(d.md, "uid")
	}
	var old struct {
		Metadata struct {
			CreationTimestamp json.RawMessage `json:"creationTimestamp"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(cur.Raw, &old)
	if ts := old.Metadata.CreationTimestamp; len(ts) > 0 && string(ts) != "null" {
		d.md["creationTimestamp"] = ts
	}
	return nil
}
