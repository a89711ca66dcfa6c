package etcdstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// Name messages of apimachinery's validation, spelled out so that a change
// of library wording fails here.
const (
	subdomainMsg = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	dns1035Msg   = `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`
)

// wantInvalid checks err is kube-apiserver's Invalid: the message, the
// object named by kind, group and name, and the causes (type, field,
// message) in order.
func wantInvalid(t *testing.T, err error, msg, kind, group, name string, causes ...api.Cause) {
	t.Helper()
	e := testkit.WantErr(t, err, api.ErrInvalid, "", msg)
	if e.Kind != kind || e.Group != group || e.Name != name || !slices.Equal(e.Causes, causes) {
		t.Fatalf("details %q %q %q causes %+v, want %q %q %q %+v", e.Kind, e.Group, e.Name, e.Causes, kind, group, name, causes)
	}
}

func invalidName(field, name, detail string) api.Cause {
	return api.Cause{Type: "FieldValueInvalid", Field: field, Message: `Invalid value: "` + name + `": ` + detail}
}

// B70: names are checked with kube-apiserver's rule for the kind: DNS-1123
// subdomains for pods and unknown kinds, DNS-1123 labels for namespaces,
// DNS-1035 labels for services; generateName as a prefix.
func TestValidate_B70_NamesPerKind(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"INVALID_Name"}}`))
	wantInvalid(t, err, `Pod "INVALID_Name" is invalid: metadata.name: Invalid value: "INVALID_Name": `+subdomainMsg,
		"Pod", "", "INVALID_Name", invalidName("metadata.name", "INVALID_Name", subdomainMsg))

	_, err = e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"generateName":"Bad_"}}`))
	ae := testkit.WantErr(t, err, api.ErrInvalid, "", "")
	if len(ae.Causes) != 2 || ae.Causes[0] != invalidName("metadata.generateName", "Bad_", subdomainMsg) ||
		ae.Causes[1] != invalidName("metadata.name", ae.Name, subdomainMsg) || len(ae.Name) != len("Bad_")+5 ||
		ae.Message != `Pod "`+ae.Name+`" is invalid: [metadata.generateName: Invalid value: "Bad_": `+subdomainMsg+
			`, metadata.name: Invalid value: "`+ae.Name+`": `+subdomainMsg+`]` {
		t.Fatalf("generateName: %q %+v", ae.Message, ae.Causes)
	}

	nss := testkit.Store(t, e.etcd, &api.Resource{Version: "v1", Resource: "namespaces", Kind: "Namespace"}, nil)
	_, err = nss.Create(e.ctx, "", []byte(`{"metadata":{"name":"a.b"}}`))
	wantInvalid(t, err, `Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots`,
		"Namespace", "", "a.b", invalidName("metadata.name", "a.b", "must not contain dots"))

	svcs := testkit.Store(t, e.etcd, &api.Resource{Version: "v1", Resource: "services", Kind: "Service", Namespaced: true}, nil)
	_, err = svcs.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"1abc"}}`))
	wantInvalid(t, err, `Service "1abc" is invalid: metadata.name: Invalid value: "1abc": `+dns1035Msg,
		"Service", "", "1abc", invalidName("metadata.name", "1abc", dns1035Msg))

	crs := testkit.Store(t, e.etcd, &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true}, nil)
	_, err = crs.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"W"},"spec":{"anything":1}}`))
	wantInvalid(t, err, `Widget.example.com "W" is invalid: metadata.name: Invalid value: "W": `+subdomainMsg,
		"Widget", "example.com", "W", invalidName("metadata.name", "W", subdomainMsg))
	if _, err := crs.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"w.1"},"spec":{"anything":1}}`)); err != nil {
		t.Fatalf("valid custom resource: %v", err)
	}
	if _, err := e.s.Get(e.ctx, "ns", "INVALID_Name", api.GetOptions{}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("refused pod was stored: %v", err)
	}
}

// B70: a built-in kind must decode into its k8s.io/api type, as typed
// clients decode it: for a create or update 400 BadRequest worded as
// kube-apiserver's decoder error, for a patch 422 as its patch handler
// answers.
func TestValidate_B70_TypedDecode(t *testing.T) {
	e := newEnv(t, nil)
	const msg = `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`
	_, err := e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"p"},"spec":{"containers":"notalist"}}`))
	testkit.WantErr(t, err, api.ErrBadRequest, "", msg)

	p := e.create("ns", "p", "n", nil)
	_, err = e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"name":"p"},"spec":{"containers":"notalist"}}`))
	testkit.WantErr(t, err, api.ErrBadRequest, "", msg)

	// A patch's result that does not decode: kube-apiserver's 422 on the
	// field "patch", the patched object its value, no kind or name.
	_, err = e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"spec":{"containers":"notalist"}}`)))
	mf, _ := json.Marshal(meta(t, p)["managedFields"])
	patched := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"creationTimestamp":%q,"generation":1,"managedFields":%s,"name":"p","namespace":"ns","resourceVersion":"%d","uid":%q},"spec":{"containers":"notalist","nodeName":"n"}}`,
		meta(t, p)["creationTimestamp"], mf, p.RV, p.UID)
	body := fmt.Sprintf("Invalid value: %q: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container", patched)
	wantInvalid(t, err, ` "" is invalid: patch: `+body, "", "", "", api.Cause{Type: "FieldValueInvalid", Field: "patch", Message: body})
	_, err = e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"creationTimestamp":"yesterday"}}`)))
	if err != nil { // the stored creationTimestamp is kept, so the patch is a no-op
		t.Fatalf("patch of creationTimestamp: %v", err)
	}
	_, err = e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"name":"p","labels":"x"}}`))
	testkit.WantErr(t, err, api.ErrBadRequest, "",
		`Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string`)

	// An unknown field is dropped under the default fieldValidation=Warn
	// (B212): the patch changes nothing.
	cur, _ := e.s.Get(e.ctx, "ns", "p", api.GetOptions{})
	obj, err := e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"spec":{"notAField":true}}`)))
	if err != nil || strings.Contains(string(obj.Raw), `notAField`) || obj.RV != cur.RV {
		t.Fatalf("unknown field: %v %v", err, obj)
	}
}

// B70: the metadata rules of an update: a different uid is refused as
// immutable; a changed creationTimestamp is ignored (kube-apiserver keeps
// the stored one); a create carrying a resourceVersion is the bare 500 of
// kube-apiserver's etcd3 store.
func TestValidate_B70_MetadataRules(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.s.Create(e.ctx, "ns", []byte(`{"metadata":{"name":"p","resourceVersion":"77"}}`))
	testkit.WantErr(t, err, api.ErrInternal, "", "resourceVersion should not be set on objects to be created")

	p := e.create("ns", "p", "n", nil)
	ts := meta(t, p)["creationTimestamp"]
	_, err = e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"name":"p","uid":"other"}}`))
	wantInvalid(t, err, `Pod "p" is invalid: metadata.uid: Invalid value: "other": field is immutable`,
		"Pod", "", "p", api.Cause{Type: "FieldValueInvalid", Field: "metadata.uid", Message: `Invalid value: "other": field is immutable`})
	_, err = e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"labels":{"bad key":"v"}}}`)))
	ae := testkit.WantErr(t, err, api.ErrInvalid, "", "")
	if len(ae.Causes) != 1 || ae.Causes[0].Field != "metadata.labels" || ae.Name != "p" || ae.Kind != "Pod" {
		t.Fatalf("label: %q %+v", ae.Message, ae.Causes)
	}

	upd, err := e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"name":"p","creationTimestamp":"2001-01-01T00:00:00Z"}}`))
	if err != nil || meta(t, upd)["creationTimestamp"] != ts || upd.UID != p.UID {
		t.Fatalf("update: %v %v", err, upd)
	}
}
