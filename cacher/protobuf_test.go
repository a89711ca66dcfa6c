package cacher

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/api"
)

// cachePod is a pod as kube-apiserver holds it (apiVersion and kind set,
// no resourceVersion), on node.
func cachePod(name, node string, gen int) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: "uid-p",
			Annotations:       map[string]string{"gen": strconv.Itoa(gen)},
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))},
		Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
}

// protoBytes is p as kube-apiserver stores it in etcd.
func protoBytes(t *testing.T, p *corev1.Pod) string {
	t.Helper()
	var b bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(p, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// servedRaw is what watchcached serves for p at rev: the JSON
// kube-apiserver serves, with resourceVersion first in metadata.
func servedRaw(t *testing.T, p *corev1.Pod, rev uint64) string {
	t.Helper()
	var b bytes.Buffer
	s := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{})
	if err := s.Encode(p, &b); err != nil {
		t.Fatal(err)
	}
	out, ok := strings.CutPrefix(strings.TrimSuffix(b.String(), "\n"), `{"kind":"Pod","apiVersion":"v1","metadata":{`)
	if !ok {
		t.Fatalf("unexpected JSON %s", b.String())
	}
	return `{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"` + strconv.FormatUint(rev, 10) + `",` + out
}

// Pods stored in protobuf by kube-apiserver are served from the cache as
// JSON: Get and List (with a field selector), and watch events of their
// updates and deletes, with the previous state when a pod leaves the
// selector's set; an encrypted value is skipped and answers the 500.
func TestCacher_ProtobufValues(t *testing.T) {
	e := newEnv(t, false, nil)
	ctx := context.Background()
	const key, encKey = "/registry/pods/default/p", "/registry/pods/default/secret"
	p1 := cachePod("p", "n1", 1)
	r1 := e.put(key, protoBytes(t, p1))
	encRev := e.put(encKey, "k8s:enc:aesgcm:v1:k1:\x01\x02")
	e.start()

	got, err := e.c.Get(ctx, "default", "p", api.GetOptions{ResourceVersion: "0"})
	if err != nil || string(got.Raw) != servedRaw(t, p1, r1) {
		t.Fatalf("get: %v\n got %s\nwant %s", err, got.Raw, servedRaw(t, p1, r1))
	}
	_, err = e.c.Get(ctx, "default", "secret", api.GetOptions{ResourceVersion: "0"})
	errIs(t, err, api.ErrCorrupt, "Internal error occurred: StorageError: corrupt object, Code: 7, Key: "+encKey+
		", ResourceVersion: 0, AdditionalErrorMsg: object not decodable revision="+strconv.FormatUint(encRev, 10)+
		": value is encrypted at rest (aesgcm, key k1); watchcached cannot decrypt it")
	pred, err := api.ParsePredicate("", "spec.nodeName=n1", []string{"spec.nodeName"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.c.List(ctx, api.ListOptions{ResourceVersion: "0", Predicate: pred})
	if err != nil || len(l.Items) != 1 || string(l.Items[0].Raw) != servedRaw(t, p1, r1) {
		t.Fatalf("list: %v %v", l, err)
	}

	w, err := e.c.Watch(ctx, api.WatchOptions{ResourceVersion: strconv.FormatUint(encRev, 10), Predicate: pred})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p2, p3 := cachePod("p", "n1", 2), cachePod("p", "n2", 3)
	r2 := e.put(key, protoBytes(t, p2))
	r3 := e.put(key, protoBytes(t, p3)) // leaves spec.nodeName=n1
	r4 := e.put(key, protoBytes(t, cachePod("p", "n1", 4)))
	del, err := e.etcd.Client.Delete(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	r5 := uint64(del.Header.Revision)
	for i, want := range []struct {
		typ api.EventType
		raw string
		rv  uint64
	}{
		{api.Modified, servedRaw(t, p2, r2), r2},
		{api.Deleted, servedRaw(t, p2, r3), r3},
		{api.Added, servedRaw(t, cachePod("p", "n1", 4), r4), r4},
		{api.Deleted, servedRaw(t, cachePod("p", "n1", 4), r5), r5},
	} {
		nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ev, err := w.Next(nctx)
		cancel()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Type != want.typ || ev.RV != want.rv || string(ev.Object.Raw) != want.raw {
			t.Fatalf("event %d: %s @%d %s\nwant %s @%d %s", i, ev.Type, ev.RV, ev.Object.Raw, want.typ, want.rv, want.raw)
		}
	}
}
