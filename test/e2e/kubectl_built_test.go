package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// kubectlVersion is the version the built kubectl reports: that of
// k8s.io/kubectl in tools/kubectl/go.mod, as a release would.
const kubectlVersion = "v1.37.2"

// builtKubectl is the kubectl of tools/kubectl, built once per test
// process into the user's cache directory under a name made of the hash
// of its module files, so later runs reuse the binary (and Go's build
// cache makes a rebuild after a change cheap).
var builtKubectl struct {
	once sync.Once
	bin  string
	err  error
}

func buildKubectl(t *testing.T) string {
	t.Helper()
	builtKubectl.once.Do(func() { builtKubectl.bin, builtKubectl.err = buildKubectlOnce() })
	if builtKubectl.err != nil {
		t.Fatalf("build tools/kubectl: %v", builtKubectl.err)
	}
	return builtKubectl.bin
}

func buildKubectlOnce() (string, error) {
	src, err := filepath.Abs(filepath.Join("..", "..", "tools", "kubectl"))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "watchcached-e2e", "kubectl-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tmp := bin + ".tmp"
	const v = "k8s.io/component-base/version"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp,
		"-ldflags", "-X "+v+".gitVersion="+kubectlVersion+" -X "+v+".gitMajor=1 -X "+v+".gitMinor=37", ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err: err, out: string(out)}
	}
	return bin, os.Rename(tmp, bin)
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// forEachKubectl runs f as a subtest with the kubectl on PATH ("path")
// and with the current kubectl built from tools/kubectl ("built"), each
// with its own kubeconfig for the daemon at url.
func forEachKubectl(t *testing.T, url string, f func(t *testing.T, k *kubectl)) {
	t.Helper()
	t.Run("path", func(t *testing.T) { f(t, newKubectl(t, url)) })
	t.Run("built", func(t *testing.T) {
		f(t, builtKubectlAt(t, url))
	})
}

// forEachKubectlEnv is forEachKubectl with a daemon of its own for each
// kubectl (startEnv with mutate), for tests that write fixed names.
func forEachKubectlEnv(t *testing.T, f func(t *testing.T, e *env, k *kubectl), mutate ...func(*app.Config)) {
	t.Helper()
	t.Run("path", func(t *testing.T) {
		e := startEnv(t, mutate...)
		f(t, e, newKubectl(t, e.url))
	})
	t.Run("built", func(t *testing.T) {
		e := startEnv(t, mutate...)
		f(t, e, builtKubectlAt(t, e.url))
	})
}

// builtKubectlAt is the built kubectl with a kubeconfig for url.
func builtKubectlAt(t *testing.T, url string) *kubectl {
	t.Helper()
	k := kubectlAt(t, buildKubectl(t), url)
	k.deleteNamesNamespace = true
	return k
}
