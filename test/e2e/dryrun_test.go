package e2e

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// dryRunRefused is the message of the 400 every dry run gets (B55).
const dryRunRefused = "dryRun is not supported by this server: the request was not carried out"

// createKeep creates configmap e2e/keep and returns it.
func createKeep(t *testing.T, e *env) *corev1.ConfigMap {
	t.Helper()
	cm, err := e.cs.CoreV1().ConfigMaps("e2e").Create(t.Context(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// stillThere fails unless e2e/keep is as it was created.
func stillThere(t *testing.T, e *env, want *corev1.ConfigMap) {
	t.Helper()
	got, err := e.cs.CoreV1().ConfigMaps("e2e").Get(t.Context(), "keep", metav1.GetOptions{})
	if err != nil || got.ResourceVersion != want.ResourceVersion || got.Data["k"] != "v" {
		t.Fatalf("GET after the dry run: %v, %v (want RV %s)", got, err, want.ResourceVersion)
	}
}

// TestDryRun_B55_KubectlDelete: `kubectl delete --dry-run=server` (dryRun
// in the DeleteOptions body) fails with the server's 400 and the object
// stays. It used to print `configmap "keep" deleted (server dry run)` and
// really delete it.
func TestDryRun_B55_KubectlDelete(t *testing.T) {
	e := startEnv(t)
	k := newKubectl(t, e.url)
	cm := createKeep(t, e)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := k.command(ctx, "delete", "configmap", "keep", "-n", "e2e", "--dry-run=server")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if want := "Error from server (BadRequest): " + dryRunRefused + "\n"; err == nil || stderr.String() != want || stdout.Len() != 0 {
		t.Fatalf("kubectl delete --dry-run=server: %v\nstdout: %q\nstderr: %q\nwant stderr %q", err, stdout.String(), stderr.String(), want)
	}
	stillThere(t, e, cm)
	// The same for the other writes, which carry dryRun=All in the query.
	for _, args := range [][]string{
		{"label", "configmap", "keep", "-n", "e2e", "x=y", "--dry-run=server"},
		{"create", "configmap", "other", "-n", "e2e", "--dry-run=server"},
	} {
		stdout.Reset()
		stderr.Reset()
		cmd := k.command(ctx, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), dryRunRefused) {
			t.Errorf("kubectl %s: %v\nstdout: %q\nstderr: %q", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
	}
	stillThere(t, e, cm)
	if _, err := e.cs.CoreV1().ConfigMaps("e2e").Get(t.Context(), "other", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create stored an object: %v", err)
	}
}

// TestDryRun_B55_TypedDelete: client-go's typed Delete with DryRun (a
// protobuf DeleteOptions body) returns a BadRequest error and deletes
// nothing.
func TestDryRun_B55_TypedDelete(t *testing.T) {
	e := startEnv(t)
	cm := createKeep(t, e)
	err := e.cs.CoreV1().ConfigMaps("e2e").Delete(t.Context(), "keep", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	var st apierrors.APIStatus
	if !apierrors.IsBadRequest(err) || !errors.As(err, &st) || st.Status().Message != dryRunRefused {
		t.Fatalf("typed Delete with DryRun: %v, want BadRequest %q", err, dryRunRefused)
	}
	stillThere(t, e, cm)
}
