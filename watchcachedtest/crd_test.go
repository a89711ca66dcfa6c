package watchcachedtest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/watchcached/watchcached/watchcachedtest"
)

var (
	crdGVR    = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	widgetGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
)

func widgetCRD() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{
			"group": "example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "kind": "Widget", "shortNames": []any{"wd"}},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
}

// TestStart_B193_CRDAtRunTime: a CRD created through the environment's
// API is established by it (conditions and accepted names, as
// kube-apiserver's controllers would write them), its resource is served
// without a restart, and it is gone again once the CRD is deleted.
func TestStart_B193_CRDAtRunTime(t *testing.T) {
	cfg := watchcachedtest.Start(t, watchcachedtest.Options{})
	dyn := dynamic.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := dyn.Resource(crdGVR).Create(ctx, widgetCRD(), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD: %v", err)
	}
	widgets := dyn.Resource(widgetGVR).Namespace("default")
	w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w1"}, "spec": map[string]any{"size": int64(3)}}}
	waitFor(ctx, t, "the widget created", func() (bool, error) {
		_, err := widgets.Create(ctx, w, metav1.CreateOptions{})
		return err == nil, nil
	})
	got, err := widgets.Get(ctx, "w1", metav1.GetOptions{})
	if size, _, _ := unstructured.NestedInt64(got.Object, "spec", "size"); err != nil || size != 3 || got.GetAPIVersion() != "example.com/v1" {
		t.Fatalf("get widget = %v, %v", got, err)
	}
	crd, err := dyn.Resource(crdGVR).Get(ctx, "widgets.example.com", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	accepted, _, _ := unstructured.NestedMap(crd.Object, "status", "acceptedNames")
	wantAccepted := map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList", "shortNames": []any{"wd"}}
	if len(conds) != 2 || conds[0].(map[string]any)["type"] != "NamesAccepted" || conds[1].(map[string]any)["type"] != "Established" ||
		conds[1].(map[string]any)["status"] != "True" || !equalJSON(accepted, wantAccepted) {
		t.Fatalf("CRD status: conditions %v, acceptedNames %v", conds, accepted)
	}
	if err := dyn.Resource(crdGVR).Delete(ctx, "widgets.example.com", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete CRD: %v", err)
	}
	waitFor(ctx, t, "widgets no longer served", func() (bool, error) {
		_, err := widgets.List(ctx, metav1.ListOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func equalJSON(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && string(x) == string(y)
}
