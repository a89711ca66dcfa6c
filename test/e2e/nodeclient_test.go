package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeEvent is one line informer.mjs prints: an informer event (ADDED,
// MODIFIED, DELETED) or a write's answer (create, patch, delete).
type nodeEvent struct {
	Kind   string            `json:"kind"`
	Name   string            `json:"name"`
	RV     string            `json:"rv"`
	Labels map[string]string `json:"labels"`
}

// TestNodeClient: the JavaScript client (@kubernetes/client-node, the
// version of js/package.json) syncs an informer on a namespace's pods,
// creates a pod, patches it with its default patch type (a JSON patch)
// and deletes it; the informer sees exactly ADDED, MODIFIED and DELETED
// at the RVs the writes answered, the MODIFIED one with the patched label.
func TestNodeClient(t *testing.T) {
	dir := installNodeClient(t)
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "informer.mjs"), e.url, "js")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node informer.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	got := parseNodeEvents(t, stdout.String())
	rvOf := map[string]string{}
	var informer []nodeEvent
	for _, ev := range got {
		switch ev.Kind {
		case "create", "patch", "delete":
			rvOf[ev.Kind] = ev.RV
		default:
			informer = append(informer, ev)
		}
	}
	want := []nodeEvent{
		{Kind: "ADDED", Name: "js-pod", RV: rvOf["create"], Labels: map[string]string{}},
		{Kind: "MODIFIED", Name: "js-pod", RV: rvOf["patch"], Labels: map[string]string{"patched": "json-patch"}},
		{Kind: "DELETED", Name: "js-pod", RV: rvOf["delete"], Labels: map[string]string{"patched": "json-patch"}},
	}
	if len(rvOf) != 3 || !equalJSON(informer, want) {
		t.Fatalf("informer events = %+v, want %+v (writes answered %v)\nstderr:\n%s", informer, want, rvOf, stderr.String())
	}
}

func parseNodeEvents(t *testing.T, out string) []nodeEvent {
	t.Helper()
	var evs []nodeEvent
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev nodeEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q of informer.mjs: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// installNodeClient installs js/ (package.json and its lock) with `npm ci`
// into a directory of the user's cache named by the files' hash, once per
// machine, and returns it with informer.mjs copied in. Without node or
// npm the test skips with a hint, and fails under CI.
func installNodeClient(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not on PATH (CI must provide Node.js and npm)", tool)
			}
			t.Skipf("%s is not on PATH: install Node.js 20 or later with npm to run the JavaScript client test", tool)
		}
	}
	files := []string{"package.json", "package-lock.json", "informer.mjs"}
	h := sha256.New()
	contents := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("js", f))
		if err != nil {
			t.Fatal(err)
		}
		contents[f] = b
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "watchcached-e2e", "js-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@kubernetes", "client-node", "package.json")); err == nil {
		return dir
	}
	return npmCI(t, dir, contents)
}

// npmCI writes the files into a fresh temporary directory beside dir,
// runs `npm ci` there and renames it to dir, so an interrupted install
// never leaves a half-filled dir behind.
func npmCI(t *testing.T, dir string, contents map[string][]byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range contents {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(dir); statErr != nil {
			t.Fatalf("install %s: %v", dir, err)
		}
	}
	return dir
}
