package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubectl runs the kubectl binary on PATH against one daemon, with its own
// kubeconfig, HOME and discovery cache in a temporary directory.
type kubectl struct {
	bin, dir, kubeconfig string
	// env is added to every command's environment (EDITOR for edit).
	env []string
	// deleteNamesNamespace: this kubectl says `"x" deleted from ns
	// namespace` where older ones say `"x" deleted` (kubectl 1.33 on).
	deleteNamesNamespace bool
}

// deleted is what this kubectl prints for the delete of name (of kind,
// e.g. `deployment.apps`) in namespace ns, then suffix (" (server dry
// run)" or "").
func (k *kubectl) deleted(kind, name, ns, suffix string) string {
	if k.deleteNamesNamespace {
		return kind + ` "` + name + `" deleted from ` + ns + " namespace" + suffix + "\n"
	}
	return kind + ` "` + name + `" deleted` + suffix + "\n"
}

// newKubectl finds kubectl (failing in CI, where .ci/run installs one, and
// skipping elsewhere) and writes a kubeconfig for the daemon at url.
func newKubectl(t *testing.T, url string) *kubectl {
	t.Helper()
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kubectl is not on PATH (CI must provide it: .ci/run installs Debian's kubernetes-client)")
		}
		t.Skip("kubectl is not on PATH; install one (e.g. apt-get install kubernetes-client) to run the kubectl tests")
	}
	return kubectlAt(t, bin, url)
}

// kubectlAt is the kubectl binary bin with a kubeconfig for the daemon at
// url.
func kubectlAt(t *testing.T, bin, url string) *kubectl {
	t.Helper()
	dir := t.TempDir()
	k := &kubectl{bin: bin, dir: dir, kubeconfig: filepath.Join(dir, "kubeconfig")}
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: watchcached
  cluster:
    server: ` + url + `
users:
- name: anonymous
  user: {}
contexts:
- name: watchcached
  context:
    cluster: watchcached
    user: anonymous
    namespace: default
current-context: watchcached
`
	if err := os.WriteFile(k.kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *kubectl) command(ctx context.Context, args ...string) *exec.Cmd {
	args = append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", filepath.Join(k.dir, "cache")}, args...)
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env = append(append(os.Environ(), "HOME="+k.dir, "KUBECONFIG="), k.env...)
	cmd.Dir = k.dir
	return cmd
}

// run runs kubectl to completion and returns its stdout. It fails the test
// when kubectl fails or its stderr says anything but want (discovery
// warnings such as "couldn't get resource list" or "Unable to ..."
// included); want is "" for most commands.
func (k *kubectl) run(t *testing.T, wantStderr string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := k.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.String() != wantStderr {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestKubectl: the real kubectl against the daemon: discovery with no
// warnings (api-resources lists the custom resource too), create -f (with
// validation against the server's empty OpenAPI v2 document), get as a table (all namespaces and one), -o json,
// get --raw, get deployments, get -w following a change, label, merge patch and delete.
func TestKubectl(t *testing.T) {
	e := startEnv(t)
	k := newKubectl(t, e.url)
	createPod(t, e.cs, "e2e", "web-1", "node-1")
	createPod(t, e.cs, "other", "web-2", "node-2")

	manifest := filepath.Join(k.dir, "cm.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: e2e\ndata:\n  k: v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := k.run(t, "", "create", "-f", manifest); out != "configmap/demo created\n" {
		t.Errorf("create -f: %q", out)
	}

	t.Run("Discovery", func(t *testing.T) {
		out := k.run(t, "", "api-resources", "--no-headers", "-o", "name")
		want := "configmaps\nevents\nnamespaces\nnodes\npods\nservices\ndeployments.apps\nwidgets.example.com\n"
		if out != want {
			t.Errorf("api-resources: %q, want %q", out, want)
		}
	})

	t.Run("GetTable", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(k.run(t, "", "get", "pods", "-n", "e2e")), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "web-1 ") {
			t.Errorf("get pods -n e2e:\n%s", strings.Join(lines, "\n"))
		}
		lines = strings.Split(strings.TrimSpace(k.run(t, "", "get", "pods", "-A")), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAMESPACE ") ||
			!strings.HasPrefix(lines[1], "e2e ") || !strings.Contains(lines[1], "web-1") ||
			!strings.HasPrefix(lines[2], "other ") || !strings.Contains(lines[2], "web-2") {
			t.Errorf("get pods -A:\n%s", strings.Join(lines, "\n"))
		}
		if out := k.run(t, "No resources found\n", "get", "deployments", "-A"); out != "" {
			t.Errorf("get deployments -A with none: %q", out)
		}
	})

	t.Run("GetJSON", func(t *testing.T) {
		var list struct {
			Kind  string `json:"kind"`
			Items []struct {
				Metadata struct{ Name, Namespace string } `json:"metadata"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(k.run(t, "", "get", "pods", "-A", "-o", "json")), &list); err != nil {
			t.Fatal(err)
		}
		if list.Kind != "List" || len(list.Items) != 2 || list.Items[0].Metadata.Name != "web-1" || list.Items[1].Metadata.Name != "web-2" {
			t.Errorf("get pods -o json: %+v", list)
		}
	})

	t.Run("GetRaw", func(t *testing.T) {
		var list struct {
			Kind  string            `json:"kind"`
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal([]byte(k.run(t, "", "get", "--raw", "/api/v1/pods")), &list); err != nil {
			t.Fatal(err)
		}
		if list.Kind != "PodList" || len(list.Items) != 2 {
			t.Errorf("get --raw /api/v1/pods: kind %q, %d items", list.Kind, len(list.Items))
		}
	})

	t.Run("Watch", func(t *testing.T) { kubectlWatch(t, e, k) })

	if out := k.run(t, "", "label", "configmap", "demo", "-n", "e2e", "tier=web"); out != "configmap/demo labeled\n" {
		t.Errorf("label: %q", out)
	}
	if out := k.run(t, "", "patch", "configmap", "demo", "-n", "e2e", "--type", "merge", "-p", `{"data":{"k":"v2"}}`); out != "configmap/demo patched\n" {
		t.Errorf("patch: %q", out)
	}
	if out := k.run(t, "", "get", "configmap", "demo", "-n", "e2e", "-o", "jsonpath={.metadata.labels.tier} {.data.k}"); out != "web v2" {
		t.Errorf("after label and patch: %q", out)
	}
	if out := k.run(t, "", "delete", "configmap", "demo", "-n", "e2e"); out != "configmap \"demo\" deleted\n" {
		t.Errorf("delete: %q", out)
	}
	if out := k.run(t, "", "get", "configmaps", "-n", "e2e", "-o", "name"); out != "configmap/second\n" {
		t.Errorf("configmaps after delete: %q", out)
	}
}

// kubectlWatch runs `kubectl get configmaps -w`, reads the initial row,
// makes a change, reads its row and then stops kubectl.
func kubectlWatch(t *testing.T, e *env, k *kubectl) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	cmd := k.command(ctx, "get", "configmaps", "-n", "e2e", "-w", "-o", "name")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if stderr.Len() > 0 {
			t.Errorf("kubectl get -w stderr:\n%s", stderr.String())
		}
	}()
	lines := bufio.NewReader(stdout)
	readLine := func() string {
		l, err := lines.ReadString('\n')
		if err != nil && err != io.EOF {
			t.Fatalf("reading kubectl -w: %v", err)
		}
		return strings.TrimSpace(l)
	}
	if l := readLine(); l != "configmap/demo" {
		t.Fatalf("first row %q, want configmap/demo", l)
	}
	code, _, body := e.do(t, "POST", "/api/v1/namespaces/e2e/configmaps", `{"metadata":{"name":"second"}}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if l := readLine(); l != "configmap/second" {
		t.Fatalf("row after a create %q, want configmap/second", l)
	}
}
