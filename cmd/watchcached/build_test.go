package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dockerBuild is the Dockerfile's build step; the test below runs the
// same command, so the two cannot drift apart.
const dockerBuild = `RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/watchcached ./cmd/watchcached`

// TestStaticBinary_B165: the Dockerfile's build command gives a static
// binary (no program interpreter, no shared library), which runs on a
// distroless or scratch image, and the binary starts (--help). With
// WATCHCACHED_DOCKER_TEST=1 and docker on PATH the image is built too.
// The first run compiles every package without cgo (minutes on a cold
// build cache; seconds after).
func TestStaticBinary_B165(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole daemon without cgo; skipped with -short")
	}
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(df), "\n"+dockerBuild+"\n") {
		t.Fatalf("the Dockerfile has no line\n%s", dockerBuild)
	}
	bin := filepath.Join(t.TempDir(), "watchcached")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -X main.version=test", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("shared libraries %v (%v)", libs, err)
	}
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--profiling") {
		t.Errorf("watchcached --help: %v\n%s", err, out)
	}
	dockerBuildImage(t)
}

// dockerBuildImage builds the image from the repository root when asked
// to (WATCHCACHED_DOCKER_TEST=1); it needs docker and the base images.
func dockerBuildImage(t *testing.T) {
	if os.Getenv("WATCHCACHED_DOCKER_TEST") != "1" {
		t.Log("image not built: set WATCHCACHED_DOCKER_TEST=1 (needs docker and its base images)")
		return
	}
	if _, err := exec.LookPath("docker"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("WATCHCACHED_DOCKER_TEST=1 but docker is not on PATH")
		}
		t.Skip("WATCHCACHED_DOCKER_TEST=1 but docker is not on PATH: install docker")
	}
	cmd := exec.Command("docker", "build", "--build-arg", "VERSION=test", "-t", "watchcached:test", "../..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
}

// TestDockerfile_B165_FinalStage: the image's last stage is a distroless
// static or scratch base holding the binary alone, run by a numeric
// non-root user.
func TestDockerfile_B165_FinalStage(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stage []string // instructions of the last stage
	for _, l := range strings.Split(string(df), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "FROM "):
			stage = []string{l}
		default:
			stage = append(stage, l)
		}
	}
	if len(stage) == 0 || !(strings.Contains(stage[0], "distroless/static") && strings.HasSuffix(stage[0], ":nonroot") || stage[0] == "FROM scratch") {
		t.Fatalf("last stage %v: want a distroless static nonroot or scratch base", stage)
	}
	var user, copies int
	for _, l := range stage[1:] {
		switch {
		case strings.HasPrefix(l, "USER "):
			uid, _, _ := strings.Cut(strings.TrimPrefix(l, "USER "), ":")
			if uid == "0" || uid == "root" || strings.Trim(uid, "0123456789") != "" {
				t.Errorf("%s: want a numeric non-root uid", l)
			}
			user++
		case strings.HasPrefix(l, "COPY "):
			if !strings.HasPrefix(l, "COPY --from=build /out/watchcached ") {
				t.Errorf("%s: the last stage copies the binary only", l)
			}
			copies++
		case strings.HasPrefix(l, "RUN "):
			t.Errorf("%s: the last stage has no shell to run", l)
		}
	}
	if user != 1 || copies != 1 {
		t.Errorf("last stage: %d USER and %d COPY instructions, want 1 each", user, copies)
	}
}
