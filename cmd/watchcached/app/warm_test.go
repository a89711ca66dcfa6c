package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/internal/testkit"
)

// cacheOf is the daemon's cache of resource.
func cacheOf(t *testing.T, d *Daemon, resource string) *cacher.Cacher {
	t.Helper()
	for _, c := range d.cachers {
		if c.Resource().Resource == resource {
			return c
		}
	}
	t.Fatalf("no cache of %s", resource)
	return nil
}

// B234: the daemon writes every cache's snapshot under
// <data-dir>/snapshots at shutdown and its next start is warm (no list,
// one log line per cache, writes made while it was down served);
// --warm-restart=false starts cold however good the files are.
func TestDaemon_B234_WarmRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t)
	cfg.Resources = DefaultResources()[:2] // pods, configmaps
	d1 := startReady(t, ctx, cfg)
	for i := range 3 {
		body := string(testkit.PodJSON("default", fmt.Sprintf("p%d", i), "n1", nil))
		if code, resp := httpDo(t, "POST", "http://"+d1.HTTPAddr+"/api/v1/namespaces/default/pods", body); code != 201 {
			t.Fatalf("create: %d %s", code, resp)
		}
	}
	if err := d1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"_pods.snap", "_configmaps.snap"} {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "snapshots", name)); err != nil {
			t.Fatalf("shutdown snapshot: %v", err)
		}
	}

	logs := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	d2 := startReady(t, ctx, cfg)
	if n := cacheOf(t, d2, "pods").Lists() + cacheOf(t, d2, "configmaps").Lists(); n != 0 {
		t.Fatalf("warm start listed %d times", n)
	}
	if got := logs.count("cache started warm"); got != 2 {
		t.Fatalf("%d warm-start lines, want 2:\n%s", got, logs.buf.String())
	}
	if got := logs.count("cache starting cold"); got != 0 {
		t.Fatalf("cold-start lines:\n%s", logs.buf.String())
	}
	code, list := httpDo(t, "GET", "http://"+d2.HTTPAddr+"/api/v1/namespaces/default/pods", "")
	if code != 200 || strings.Count(list, `"kind":"Pod"`) != 3 {
		t.Fatalf("list after warm start: %d %s", code, list)
	}
	_, metrics := httpDo(t, "GET", "http://"+d2.HTTPAddr+"/metrics", "")
	for _, want := range []string{`watchcached_cache_starts_total{resource="pods",start="warm"} 1`,
		`watchcached_cache_starts_total{resource="configmaps",start="warm"} 1`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Fatalf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `start="cold"`) {
		t.Fatal("a cold start counted")
	}
	if err := d2.Close(ctx); err != nil {
		t.Fatal(err)
	}

	cfg.WarmRestart = false
	logs3 := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs3, nil))
	d3 := startReady(t, ctx, cfg)
	if n := cacheOf(t, d3, "pods").Lists(); n != 1 || logs3.count("cache started warm") != 0 || logs3.count("cache starting cold") != 0 {
		t.Fatalf("--warm-restart=false: lists %d, log:\n%s", n, logs3.buf.String())
	}
}

// B234: with the kube catalogue every cache (events.k8s.io events
// converted from core events, deployments, CRDs...) starts warm from the
// snapshots its previous run wrote: each resource's loaded objects decode
// to what its decoder derives.
func TestDaemon_B234_WarmRestartKubeCatalogue(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t)
	cfg.ResourcesFile = KubeCatalogue
	d1 := startReady(t, ctx, cfg)
	values := map[string]string{
		"/registry/events/default/e1": `{"apiVersion":"v1","kind":"Event","metadata":{"name":"e1","namespace":"default"},` +
			`"involvedObject":{"kind":"Pod","name":"p","namespace":"default"},"reason":"Started","message":"m","type":"Normal",` +
			`"firstTimestamp":"2024-01-01T00:00:00Z","lastTimestamp":"2024-01-01T00:00:00Z","count":1,"source":{"component":"kubelet"}}`,
		"/registry/pods/default/p":                   string(testkit.PodJSON("default", "p", "n1", map[string]string{"app": "x"})),
		"/registry/deployments/default/d":            `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"default"},"spec":{"replicas":2}}`,
		"/registry/configmaps/kube-system/c":         `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"kube-system","labels":{"a":"b"}},"data":{"k":"v"}}`,
		"/registry/minions/n1":                       `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"spec":{"unschedulable":true}}`,
		"/registry/services/specs/default/s":         `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"default"},"spec":{"type":"ClusterIP"}}`,
		"/registry/namespaces/default":               `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"},"status":{"phase":"Active"}}`,
		"/registry/secrets/default/s":                `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},"type":"Opaque"}`,
		"/registry/replicasets/default/r":            `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"r","namespace":"default"},"status":{"replicas":1}}`,
		"/registry/serviceaccounts/default/default":  `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":"default"}}`,
		"/registry/jobs/default/j":                   `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","namespace":"default"},"status":{"succeeded":1}}`,
		"/registry/persistentvolumeclaims/default/c": `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"c","namespace":"default"}}`,
	}
	values["/registry/pods/default/proto"] = protobufPod(t) // as kube-apiserver stores it
	for key, val := range values {
		if _, err := d1.client.Put(ctx, key, val); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := d1.client.Get(ctx, "health")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range d1.cachers {
		if err := c.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		for c.RV() < uint64(cur.Header.Revision) {
			select {
			case <-ctx.Done():
				t.Fatalf("%s did not reach %d", c.Resource().GroupResource(), cur.Header.Revision)
			case <-time.After(10 * time.Millisecond): // the watch applies the puts
			}
		}
	}
	n := len(d1.cachers)
	if err := d1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	d2 := startReady(t, ctx, cfg)
	if got := logs.count("cache started warm"); got != n || logs.count("cache starting cold") != 0 {
		t.Fatalf("%d of %d caches warm:\n%s", got, n, grepLines(logs.buf.String(), "cache start"))
	}
	code, body := httpDo(t, "GET", "http://"+d2.HTTPAddr+"/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn2", "")
	if code != 200 || !strings.Contains(body, `"name":"proto"`) {
		t.Fatalf("protobuf pod after a warm start: %d %s", code, body)
	}
	code, body = httpDo(t, "GET", "http://"+d2.HTTPAddr+"/apis/events.k8s.io/v1/namespaces/default/events", "")
	if code != 200 || !strings.Contains(body, `"reason":"Started"`) || !strings.Contains(body, `"apiVersion":"events.k8s.io/v1"`) {
		t.Fatalf("events.k8s.io list after a warm start: %d %s", code, body)
	}
}

// protobufPod is a pod in Kubernetes protobuf, as kube-apiserver stores it.
func protobufPod(t *testing.T) string {
	t.Helper()
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "proto", Namespace: "default", UID: "u-1", Labels: map[string]string{"app": "p"}},
		Spec:       corev1.PodSpec{NodeName: "n2", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	var b bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(pod, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
