package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKubectl_Patches_B75_B76: the real kubectl's writes that patch.
// `kubectl apply -f` of a changed manifest on an object it created sends a
// strategic merge patch (a built-in kind), as do a default `kubectl
// patch`, `label` and `annotate`; `patch --type json` sends a JSON patch.
// Each must change the object as kubectl expects. A strategic merge patch
// of a custom resource is refused with kube-apiserver's 415.
func TestKubectl_Patches_B75_B76(t *testing.T) {
	e := startEnv(t)
	k := newKubectl(t, e.url)
	createPod(t, e.cs, "e2e", "web-1", "node-1")
	manifest := filepath.Join(k.dir, "deploy.yaml")
	write := func(labels, image string) {
		t.Helper()
		y := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: e2e\n  labels:\n" + labels +
			"spec:\n  selector:\n    matchLabels:\n      app: app\n  template:\n    metadata:\n      labels:\n        app: app\n" +
			"    spec:\n      containers:\n      - name: main\n        image: " + image + "\n      - name: side\n        image: side:1\n"
		if err := os.WriteFile(manifest, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("    a: \"1\"\n    b: \"2\"\n", "main:1")
	if out := k.run(t, "", "apply", "-f", manifest); out != "deployment.apps/app created\n" {
		t.Fatalf("apply (create): %q", out)
	}
	write("    a: \"1\"\n    c: \"3\"\n", "main:2")
	if out := k.run(t, "", "apply", "-f", manifest); out != "deployment.apps/app configured\n" {
		t.Fatalf("apply (changed): %q", out)
	}
	const jp = "jsonpath={.metadata.labels} {.spec.template.spec.containers[*].image}"
	if out := k.run(t, "", "get", "deployment", "app", "-n", "e2e", "-o", jp); out != `{"a":"1","c":"3"} main:2 side:1` {
		t.Errorf("after apply of a changed manifest: %q", out)
	}

	if out := k.run(t, "", "patch", "pod", "web-1", "-n", "e2e", "-p", `{"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}`); out != "pod/web-1 patched\n" {
		t.Errorf("patch (strategic): %q", out)
	}
	if out := k.run(t, "", "patch", "pod", "web-1", "-n", "e2e", "--type", "json",
		"-p", `[{"op":"add","path":"/metadata/labels","value":{"x":"y"}},{"op":"test","path":"/spec/nodeName","value":"node-1"}]`); out != "pod/web-1 patched\n" {
		t.Errorf("patch --type json: %q", out)
	}
	if out := k.run(t, "", "label", "pod", "web-1", "-n", "e2e", "tier=web", "x-"); out != "pod/web-1 labeled\n" {
		t.Errorf("label: %q", out)
	}
	if out := k.run(t, "", "annotate", "pod", "web-1", "-n", "e2e", "note=hi"); out != "pod/web-1 annotated\n" {
		t.Errorf("annotate: %q", out)
	}
	const pp = "jsonpath={.metadata.labels} {.metadata.annotations.note} {.spec.containers[*].name}={.spec.containers[*].image}"
	if out := k.run(t, "", "get", "pod", "web-1", "-n", "e2e", "-o", pp); out != `{"tier":"web"} hi c=busybox:2` {
		t.Errorf("pod after patches: %q", out)
	}

	widget := filepath.Join(k.dir, "widget.yaml")
	if err := os.WriteFile(widget, []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: e2e\nspec:\n  n: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k.run(t, "", "create", "-f", widget)
	code, _, body := e.do(t, "PATCH", "/apis/example.com/v1/namespaces/e2e/widgets/w", `{"spec":{"n":2}}`,
		"Content-Type", "application/strategic-merge-patch+json")
	const want = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml","reason":"UnsupportedMediaType","code":415}`
	if code != 415 || body != want+"\n" && body != want {
		t.Errorf("strategic patch of a widget: %d %s", code, body)
	}
	if out := k.run(t, "", "patch", "widget", "w", "-n", "e2e", "--type", "merge", "-p", `{"spec":{"n":3}}`); out != "widget.example.com/w patched\n" {
		t.Errorf("merge patch of a widget: %q", out)
	}
}
