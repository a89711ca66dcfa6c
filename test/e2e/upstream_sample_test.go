package e2e

import (
	"context"
	"os"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/upstream"
)

// sampleAPIServerEnv names the kubeconfig of a running
// k8s.io/sample-apiserver (a real kube-apiserver code path: generic
// apiserver, its watch cache, etcd3 storage); see docs/upstream.md.
const sampleAPIServerEnv = "WATCHCACHED_SAMPLE_APISERVER"

// TestSampleAPIServer_B170_Follow (opt-in): a follower of a
// sample-apiserver serves its flunders: a create made on the upstream
// reaches a watch on the follower with the upstream's RV, a consistent GET
// on the follower shows it, and ?cache=false answers it too.
func TestSampleAPIServer_B170_Follow(t *testing.T) {
	kubeconfig := os.Getenv(sampleAPIServerEnv)
	if kubeconfig == "" {
		t.Skipf("set %s to the kubeconfig of a running k8s.io/sample-apiserver to run this test (docs/upstream.md)", sampleAPIServerEnv)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// client-go shares one transport per TLS configuration: the test's
	// clients and the follower's reach the upstream through it, and its
	// idle HTTP/2 connections are closed once everything else stopped.
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	upDyn, err := dynamic.NewForConfigAndClient(rc, hc)
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "wardle.example.com", Version: "v1alpha1", Resource: "flunders"}
	flunders := &api.Resource{Group: gvr.Group, Version: gvr.Version, Resource: gvr.Resource, Kind: "Flunder", Namespaced: true}
	f := startFollower(t, "", func(c *app.Config) {
		c.UpstreamKubeconfig = kubeconfig
		c.Resources = []*api.Resource{flunders}
	})
	ctx := t.Context()
	ns := "watchcached-e2e"
	l, err := f.dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := upstream.New(upstream.Config{REST: f.cfg, Resource: flunders})
	if err != nil {
		t.Fatal(err)
	}
	w, err := src.Watch(ctx, api.WatchOptions{Namespace: ns, ResourceVersion: l.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
		"metadata": map[string]any{"generateName": "f-", "namespace": ns}}}
	created, err := upDyn.Resource(gvr).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = upDyn.Resource(gvr).Namespace(ns).Delete(context.Background(), created.GetName(), metav1.DeleteOptions{})
	})
	testkit.Equal(t, "follower watch", testkit.Next(t, w, 1), []string{"ADDED " + ns + "/" + created.GetName() + "@" + created.GetResourceVersion()})
	got, err := f.dyn.Resource(gvr).Namespace(ns).Get(ctx, created.GetName(), metav1.GetOptions{})
	if err != nil || got.GetResourceVersion() != created.GetResourceVersion() {
		t.Errorf("consistent get on the follower: %v, err %v", got, err)
	}
	code, _, body := f.do(t, "GET", "/apis/wardle.example.com/v1alpha1/namespaces/"+ns+"/flunders/"+created.GetName()+"?cache=false", "")
	if code != 200 || rvOf(t, body) != created.GetResourceVersion() {
		t.Errorf("?cache=false get: %d %s", code, body)
	}
}
