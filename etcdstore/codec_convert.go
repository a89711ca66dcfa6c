package etcdstore

import (
	"bytes"
	"encoding/json"

	"github.com/watchcached/watchcached/api"
)

// decodeConverted decodes a value of a resource stored in another form
// (convert_events.go): the stored object, protobuf or JSON, is converted
// to the served form and encoded once as JSON. A JSON value that is in the
// served form already (written by hand) is taken as it is.
func (cd *codec) decodeConverted(key string, value []byte, modRevision int64) (*api.Object, error) {
	if modRevision <= 0 {
		return nil, undecodable(key, "mod revision %d is not positive", modRevision)
	}
	switch {
	case bytes.HasPrefix(value, protoMagic):
		stored, err := decodeProtobufAs(key, value, cd.conv.stored)
		if err != nil {
			return nil, err
		}
		return cd.decodeTyped(key, cd.conv.toServed(stored), modRevision)
	case bytes.HasPrefix(value, encPrefix):
		return nil, &encryptedError{key: key, provider: encryptedProvider(value[len(encPrefix):])}
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(value, &tm); err != nil {
		return nil, undecodable(key, "not JSON: %v", err)
	}
	if tm.APIVersion == cd.res.GroupVersion() && tm.Kind == cd.res.Kind {
		return cd.decodeJSON(key, value, modRevision)
	}
	if want := cd.conv.stored; tm.APIVersion != "" && tm.APIVersion != want.GroupVersion().String() || tm.Kind != "" && tm.Kind != want.Kind {
		return nil, undecodable(key, "the stored object is %s %s, not %s", tm.APIVersion, tm.Kind, kindString(&want))
	}
	stored := cd.conv.newStored()
	if err := json.Unmarshal(value, stored); err != nil {
		return nil, undecodable(key, "not a %s: %v", kindString(&cd.conv.stored), err)
	}
	return cd.decodeTyped(key, cd.conv.toServed(stored), modRevision)
}

// toStored converts the JSON of a write, in the served form, to the JSON
// stored (the body's fields that the typed form does not know are
// dropped, as kube-apiserver drops them).
func (cd *codec) toStored(val []byte) ([]byte, error) {
	served := cd.conv.newServed()
	if err := json.Unmarshal(val, served); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "cannot decode the object as %s: %v", cd.res.GroupVersion()+" "+cd.res.Kind, err)
	}
	var b bytes.Buffer
	if err := jsonSerializer.Encode(cd.conv.toStored(served), &b); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "cannot encode the object: %v", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
