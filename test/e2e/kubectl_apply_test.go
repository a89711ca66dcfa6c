package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// deployManifest writes a deployment manifest of name with replicas and
// image into dir and returns its path.
func deployManifest(t *testing.T, dir, name, replicas, image string) string {
	t.Helper()
	y := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\n  namespace: e2e\nspec:\n  replicas: " + replicas +
		"\n  selector:\n    matchLabels:\n      app: " + name + "\n  template:\n    metadata:\n      labels:\n        app: " + name +
		"\n    spec:\n      containers:\n      - name: main\n        image: " + image + "\n"
	p := filepath.Join(dir, name+"-"+replicas+".yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKubectl_B210_ServerSideApply: `kubectl apply` three times (create,
// change, no-op), then `apply --server-side` of another replicas fails
// with kube-apiserver's conflict naming the client-side apply's manager,
// `--force-conflicts` takes the field over; a server-side apply three
// times; `kubectl diff` shows a change (exit 1) and none (exit 0);
// `apply --dry-run=server` answers and stores nothing.
func TestKubectl_B210_ServerSideApply(t *testing.T) {
	forEachKubectlEnv(t, func(t *testing.T, e *env, k *kubectl) {
		one, two := deployManifest(t, k.dir, "app", "1", "main:1"), deployManifest(t, k.dir, "app", "2", "main:2")
		for i, c := range []struct{ file, want string }{
			{one, "deployment.apps/app created\n"}, {two, "deployment.apps/app configured\n"}, {two, "deployment.apps/app unchanged\n"},
		} {
			if out := k.run(t, "", "apply", "-f", c.file); out != c.want {
				t.Fatalf("apply %d: %q, want %q", i, out, c.want)
			}
		}
		three := deployManifest(t, k.dir, "app", "3", "main:2")
		// (kubectl's own server-side manager, "kubectl", would take over the
		// fields the last-applied annotation shows unchanged, as kube-apiserver
		// lets it: another manager conflicts.)
		out, err := k.command(t.Context(), "apply", "--server-side", "--field-manager=other", "-f", three).CombinedOutput()
		const conflict = `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`
		if err == nil || !strings.Contains(string(out), conflict) {
			t.Fatalf("apply --server-side with a conflict: %v\n%s", err, out)
		}
		if out := k.run(t, "", "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", three); out != "deployment.apps/app serverside-applied\n" {
			t.Fatalf("apply --force-conflicts: %q", out)
		}
		// kubectl then moves what its client-side apply owned to the new
		// manager (a JSON patch of managedFields).
		const jp = "jsonpath={.spec.replicas} {.metadata.managedFields[*].manager} {.metadata.managedFields[*].operation}"
		if out := k.run(t, "", "get", "deployment", "app", "-n", "e2e", "-o", jp); out != "3 other Apply" {
			t.Fatalf("after the forced apply: %q", out)
		}

		ssa1, ssa2 := deployManifest(t, k.dir, "ssa", "1", "s:1"), deployManifest(t, k.dir, "ssa", "2", "s:1")
		var rvs []string
		for _, f := range []string{ssa1, ssa2, ssa2} {
			if out := k.run(t, "", "apply", "--server-side", "-f", f); out != "deployment.apps/ssa serverside-applied\n" {
				t.Fatalf("apply --server-side: %q", out)
			}
			rvs = append(rvs, k.run(t, "", "get", "deployment", "ssa", "-n", "e2e", "-o", "jsonpath={.metadata.resourceVersion} {.spec.replicas}"))
		}
		if rvs[0] == rvs[1] || rvs[1] != rvs[2] || !strings.HasSuffix(rvs[2], " 2") {
			t.Fatalf("server-side applies (create, change, no-op): %q", rvs)
		}

		rev := etcdRevision(t, e)
		diff, err := k.command(t.Context(), "diff", "-f", deployManifest(t, k.dir, "app", "5", "main:2")).Output()
		var exit interface{ ExitCode() int }
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(diff), "-  replicas: 3") || !strings.Contains(string(diff), "+  replicas: 5") {
			t.Fatalf("kubectl diff of a change: %v\n%s", err, diff)
		}
		if out, err := k.command(t.Context(), "diff", "--server-side", "--field-manager=other", "--force-conflicts", "-f", three).Output(); err != nil || len(out) != 0 {
			t.Fatalf("kubectl diff of no change: %v\n%s", err, out)
		}
		const noLastApplied = "Warning: resource deployments/app is missing the kubectl.kubernetes.io/last-applied-configuration annotation " +
			"which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either " +
			"kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically.\n"
		if out := k.run(t, noLastApplied, "apply", "--dry-run=server", "-f", deployManifest(t, k.dir, "app", "7", "main:2")); out != "deployment.apps/app configured (server dry run)\n" {
			t.Fatalf("apply --dry-run=server: %q", out)
		}
		if out := k.run(t, "", "apply", "--server-side", "--dry-run=server", "-f", deployManifest(t, k.dir, "new", "1", "n:1")); out != "deployment.apps/new serverside-applied (server dry run)\n" {
			t.Fatalf("apply --server-side --dry-run=server: %q", out)
		}
		if out := k.run(t, "", "delete", "deployment", "app", "-n", "e2e", "--dry-run=server"); out != k.deleted("deployment.apps", "app", "e2e", " (server dry run)") {
			t.Fatalf("delete --dry-run=server: %q", out)
		}
		if got := etcdRevision(t, e); got != rev {
			t.Fatalf("diff and dry runs moved etcd from %d to %d", rev, got)
		}
	})
}

// TestApply_B210_ClientGo: client-go's typed Apply with apply
// configurations creates, conflicts with another manager (409 with one
// FieldManagerConflict cause) and, forced, takes the field over.
func TestApply_B210_ClientGo(t *testing.T) {
	e := startEnv(t)
	deploy := func(replicas int32) *appsv1ac.DeploymentApplyConfiguration {
		return appsv1ac.Deployment("ctl", "e2e").WithSpec(appsv1ac.DeploymentSpec().WithReplicas(replicas).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": "ctl"})).
			WithTemplate(corev1ac.PodTemplateSpec().WithLabels(map[string]string{"app": "ctl"}).
				WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("c").WithImage("c:1")))))
	}
	d := e.cs.AppsV1().Deployments("e2e")
	got, err := d.Apply(t.Context(), deploy(1), metav1.ApplyOptions{FieldManager: "ctrl-a"})
	if err != nil || *got.Spec.Replicas != 1 || len(got.ManagedFields) != 1 || got.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("apply (create): %v %v", got, err)
	}
	_, err = d.Apply(t.Context(), deploy(2), metav1.ApplyOptions{FieldManager: "ctrl-b"})
	var st apierrors.APIStatus
	if !apierrors.IsConflict(err) || !errors.As(err, &st) ||
		st.Status().Message != `Apply failed with 1 conflict: conflict with "ctrl-a": .spec.replicas` ||
		len(st.Status().Details.Causes) != 1 || st.Status().Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict {
		t.Fatalf("conflicting apply: %v", err)
	}
	got, err = d.Apply(t.Context(), deploy(2), metav1.ApplyOptions{FieldManager: "ctrl-b", Force: true})
	if err != nil || *got.Spec.Replicas != 2 {
		t.Fatalf("forced apply: %v %v", got, err)
	}
}
