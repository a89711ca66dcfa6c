package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/server"
)

const workflowDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: NS
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx:1
`

// TestKubectl_Workflow: kubectl's everyday writes, with the kubectl on
// PATH and with a current one built from k8s.io/kubectl, on the kube
// catalogue with writes stored: apply three times (created, configured,
// unchanged), edit, patch of all three types, rollout restart, set
// image, describe, and the delete of an object that has a finalizer.
func TestKubectl_Workflow(t *testing.T) {
	e := startEnv(t, func(c *app.Config) {
		c.Resources, c.ResourcesFile, c.WriteMode = nil, app.KubeCatalogue, server.WriteModeEtcd
	})
	forEachKubectl(t, e.url, func(t *testing.T, k *kubectl) {
		ns := "wf-" + filepath.Base(t.Name())
		k.run(t, "", "create", "namespace", ns)
		applyWorkflow(t, k, ns)
		k.env = []string{"EDITOR=sed -i s/nginx:1/nginx:2/"}
		expectOut(t, k.run(t, "", "edit", "-n", ns, "deployment/web"), "deployment.apps/web edited\n")
		k.env = nil
		expectOut(t, k.run(t, "", "patch", "-n", ns, "deployment", "web", "-p", `{"spec":{"template":{"metadata":{"labels":{"tier":"a"}}}}}`), "deployment.apps/web patched\n")
		expectOut(t, k.run(t, "", "patch", "-n", ns, "deployment", "web", "--type", "merge", "-p", `{"metadata":{"labels":{"m":"1"}}}`), "deployment.apps/web patched\n")
		expectOut(t, k.run(t, "", "patch", "-n", ns, "deployment", "web", "--type", "json", "-p", `[{"op":"add","path":"/metadata/annotations/j","value":"1"}]`), "deployment.apps/web patched\n")
		expectOut(t, k.run(t, "", "rollout", "restart", "-n", ns, "deployment/web"), "deployment.apps/web restarted\n")
		expectOut(t, k.run(t, "", "set", "image", "-n", ns, "deployment/web", "c=nginx:3"), "deployment.apps/web image updated\n")
		checkWorkflowDeployment(t, k.run(t, "", "get", "-n", ns, "deployment", "web", "-o", "json"))
		if out := squeezeSpaces(k.run(t, "", "describe", "-n", ns, "deployment", "web")); !containsAll(out, "\nName: web\n", "\nNamespace: "+ns+"\n", "\nReplicas: 2 desired |", "\nImage: nginx:3\n", "\nLabels: app=web\ntier=a\n") {
			t.Errorf("describe deployment:\n%s", out)
		}
		deleteWithFinalizer(t, k, ns)
	})
}

// applyWorkflow applies the deployment three times: created with one
// replica, configured to two, then unchanged.
func applyWorkflow(t *testing.T, k *kubectl, ns string) {
	t.Helper()
	file := filepath.Join(k.dir, "web.yaml")
	for _, step := range []struct{ replicas, want string }{
		{"1", "deployment.apps/web created\n"}, {"2", "deployment.apps/web configured\n"}, {"2", "deployment.apps/web unchanged\n"},
	} {
		doc := replaceAll(workflowDeployment, "NS", ns, "REPLICAS", step.replicas)
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		expectOut(t, k.run(t, "", "apply", "-f", file), step.want)
	}
}

// checkWorkflowDeployment checks what every write of the workflow left:
// two replicas, nginx:3, the labels and annotations of the three patches,
// the restart's annotation, and generation 6 (apply's change, edit, the
// template patch, restart and set image each changed the spec; the
// merge and JSON patches only metadata).
func checkWorkflowDeployment(t *testing.T, out string) {
	t.Helper()
	var d struct {
		Metadata struct {
			Generation  int64             `json:"generation"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Replicas int `json:"replicas"`
			Template struct {
				Metadata struct {
					Labels      map[string]string `json:"labels"`
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
				Spec struct {
					Containers []struct{ Image string } `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	tmpl := d.Spec.Template
	if d.Spec.Replicas != 2 || len(tmpl.Spec.Containers) != 1 || tmpl.Spec.Containers[0].Image != "nginx:3" ||
		tmpl.Metadata.Labels["tier"] != "a" || d.Metadata.Labels["m"] != "1" || d.Metadata.Annotations["j"] != "1" ||
		tmpl.Metadata.Annotations["kubectl.kubernetes.io/restartedAt"] == "" || d.Metadata.Generation != 6 {
		t.Errorf("deployment after the workflow:\n%s", out)
	}
}

// deleteWithFinalizer deletes a config map that holds a finalizer: the
// delete marks it (it is still there, with a deletionTimestamp), and
// removing the finalizer deletes it.
func deleteWithFinalizer(t *testing.T, k *kubectl, ns string) {
	t.Helper()
	file := filepath.Join(k.dir, "held.yaml")
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: " + ns + "\n  finalizers: [example.com/hold]\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	expectOut(t, k.run(t, "", "create", "-f", file), "configmap/held created\n")
	out := k.run(t, "", "delete", "-n", ns, "configmap", "held", "--wait=false")
	if out != k.deleted("configmap", "held", ns, "") {
		t.Errorf("delete: %q", out)
	}
	if out := k.run(t, "", "get", "-n", ns, "configmap", "held", "-o", "jsonpath={.metadata.deletionTimestamp}"); out == "" {
		t.Error("the config map has no deletionTimestamp after the delete")
	}
	expectOut(t, k.run(t, "", "patch", "-n", ns, "configmap", "held", "--type", "merge", "-p", `{"metadata":{"finalizers":null}}`), "configmap/held patched\n")
	k.fail(t, `Error from server (NotFound): configmaps "held" not found`+"\n", "get", "-n", ns, "configmap", "held")
}

// fail runs kubectl expecting it to fail with exactly wantStderr.
func (k *kubectl) fail(t *testing.T, wantStderr string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := k.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil || stderr.String() != wantStderr {
		t.Fatalf("kubectl %s: err %v, want a failure\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s",
			strings.Join(args, " "), err, stdout.String(), stderr.String(), wantStderr)
	}
}

func expectOut(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("kubectl printed %q, want %q", got, want)
	}
}

// squeezeSpaces trims each line and turns runs of spaces into one, so a
// describe's column alignment, which differs between kubectl versions,
// does not matter.
func squeezeSpaces(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return "\n" + strings.Join(lines, "\n")
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// replaceAll replaces each old, new pair in turn.
func replaceAll(s string, oldNew ...string) string {
	return strings.NewReplacer(oldNew...).Replace(s)
}
