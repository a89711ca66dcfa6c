package e2e

import (
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCorrupt_B62_TypedClient: through the daemon (cache on), client-go's
// typed client gets a 500 InternalError naming the key of a corrupt value,
// lists without it, and removes it with
// IgnoreStoreReadErrorWithClusterBreakingPotential (a protobuf
// DeleteOptions body), after which the name can be created; every read of
// the value is counted in watchcached_storage_decode_errors_total.
func TestCorrupt_B62_TypedClient(t *testing.T) {
	e := startEnv(t)
	cms := e.cs.CoreV1().ConfigMaps("e2e")
	const key = "/registry/configmaps/e2e/bad"
	resp, err := e.etcd.Put(t.Context(), key, "{garbage")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Internal error occurred: StorageError: corrupt object, Code: 7, Key: %s, ResourceVersion: 0, AdditionalErrorMsg: object not decodable revision=%d: not JSON: invalid JSON",
		key, resp.Header.Revision)
	var st apierrors.APIStatus
	for _, rv := range []string{"", "0"} {
		_, err = cms.Get(t.Context(), "bad", metav1.GetOptions{ResourceVersion: rv})
		if !apierrors.IsInternalError(err) || !errors.As(err, &st) || st.Status().Message != want {
			t.Fatalf("GET rv=%q: %v, want InternalError %q", rv, err, want)
		}
	}
	if n := e.metric(t, "watchcached_storage_decode_errors_total", `resource="configmaps"`); n < 3 {
		t.Fatalf("decode errors counted: %d, want at least 3 (the watch event and two GETs)", n)
	}
	list, err := cms.List(t.Context(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bad"}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create of the taken name: %v, want AlreadyExists", err)
	}
	if err := cms.Delete(t.Context(), "bad", metav1.DeleteOptions{}); !apierrors.IsInternalError(err) {
		t.Fatalf("plain delete: %v, want InternalError", err)
	}
	yes := true
	if err := cms.Delete(t.Context(), "bad", metav1.DeleteOptions{IgnoreStoreReadErrorWithClusterBreakingPotential: &yes}); err != nil {
		t.Fatalf("delete with the option: %v", err)
	}
	if _, err := cms.Get(t.Context(), "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("GET after removal: %v, want NotFound", err)
	}
	if _, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bad"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create after removal: %v", err)
	}
	err = cms.Delete(t.Context(), "bad", metav1.DeleteOptions{IgnoreStoreReadErrorWithClusterBreakingPotential: &yes})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("option on a healthy object: %v, want Invalid", err)
	}
}
