package docs

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// repo is what the checks compare the catalogue with.
type repo struct {
	rows      []row
	tests     map[string]testFunc // "<package dir>.<TestName>"
	scenarios map[string]bool     // conformance "<Group>/<Scenario>"
	ids       map[string]string   // id -> first place it is mentioned
}

const (
	catalogue      = "behaviours.md"
	conformanceDir = "test/conformance"
	conformanceRef = "conformance."
)

// loadRepo parses the catalogue and the repository once for all checks.
var loadRepo = sync.OnceValues(func() (*repo, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, err
	}
	r := &repo{}
	if r.rows, err = parseCatalogue(catalogue); err != nil {
		return nil, err
	}
	if r.tests, err = collectTests(root); err != nil {
		return nil, err
	}
	if r.scenarios, err = collectScenarios(filepath.Join(root, conformanceDir)); err != nil {
		return nil, err
	}
	if r.ids, err = collectIDs(root); err != nil {
		return nil, err
	}
	return r, nil
})

func mustLoad(t *testing.T) *repo {
	t.Helper()
	r, err := loadRepo()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.rows) == 0 || len(r.tests) == 0 || len(r.scenarios) == 0 {
		t.Fatalf("found %d rows, %d tests, %d conformance scenarios: the parsers are broken",
			len(r.rows), len(r.tests), len(r.scenarios))
	}
	return r
}

// resolve reports whether ref names an existing test: a conformance
// scenario "conformance.<Group>/<Scenario>", or "<dir>.<TestName>" with
// optional "/<subtest>" segments, each a literal t.Run name in its body.
func (r *repo) resolve(ref string) bool {
	if s, ok := strings.CutPrefix(ref, conformanceRef); ok {
		return r.scenarios[s]
	}
	parts := strings.Split(ref, "/")
	// The package directory may itself contain slashes: the test is the
	// first segment that holds ".Test".
	for i, p := range parts {
		if !strings.Contains(p, ".Test") {
			continue
		}
		tf, ok := r.tests[strings.Join(parts[:i+1], "/")]
		if !ok {
			return false
		}
		for _, sub := range parts[i+1:] {
			if !tf.subtests[sub] {
				return false
			}
		}
		return true
	}
	return false
}

// TestBehaviours_NamedTestsExist fails when a row names a test that does
// not exist (renamed, deleted, misspelt), names none, or repeats an id.
func TestBehaviours_NamedTestsExist(t *testing.T) {
	r := mustLoad(t)
	seen := map[string]int{}
	for _, row := range r.rows {
		if prev, dup := seen[row.id]; dup {
			t.Errorf("%s:%d: %s already has a row at line %d", catalogue, row.line, row.id, prev)
		}
		seen[row.id] = row.line
		if len(row.tests) == 0 {
			t.Errorf("%s:%d: %s names no test", catalogue, row.line, row.id)
		}
		for _, ref := range row.tests {
			if !r.resolve(ref) {
				t.Errorf("%s:%d: %s names %s, which does not exist", catalogue, row.line, row.id, ref)
			}
		}
	}
}

// TestBehaviours_EveryIDHasARow fails when a Go file, the .proto or a doc
// mentions an id the catalogue does not define.
func TestBehaviours_EveryIDHasARow(t *testing.T) {
	r := mustLoad(t)
	defined := map[string]bool{}
	for _, row := range r.rows {
		defined[row.id] = true
	}
	for _, id := range sortedKeys(r.ids) {
		if !defined[id] {
			t.Errorf("%s mentions %s, which has no row in docs/%s", r.ids[id], id, catalogue)
		}
	}
}

// TestBehaviours_IDNamedTestsAreListed fails when a test or conformance
// scenario carries an id in its name but is missing from that id's row.
func TestBehaviours_IDNamedTestsAreListed(t *testing.T) {
	r := mustLoad(t)
	listed := map[string]map[string]bool{}
	for _, row := range r.rows {
		listed[row.id] = map[string]bool{}
		for _, ref := range row.tests {
			listed[row.id][ref] = true
		}
	}
	check := func(ref, name string) {
		for _, id := range idsInName(name) {
			if !listed[id][ref] {
				t.Errorf("%s carries %s in its name but is not listed in %s's row of docs/%s", ref, id, id, catalogue)
			}
		}
	}
	for _, key := range sortedKeys(r.tests) {
		check(key, key[strings.LastIndex(key, ".")+1:])
	}
	for _, s := range sortedKeys(r.scenarios) {
		check(conformanceRef+s, s[strings.Index(s, "/")+1:])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestResolve pins the reference forms the catalogue may use.
func TestResolve(t *testing.T) {
	r := &repo{
		tests: map[string]testFunc{
			"server.TestDeadlines":           {subtests: map[string]bool{"HTTP": true}},
			"test/e2e.TestKubectl":           {subtests: map[string]bool{}},
			"cmd/watchcached/app.TestDaemon": {subtests: map[string]bool{"GRPC": true, "Close": true}},
		},
		scenarios: map[string]bool{"List/B13_ExactList": true},
	}
	for ref, want := range map[string]bool{
		"server.TestDeadlines":                      true,
		"server.TestDeadlines/HTTP":                 true,
		"server.TestDeadlines/GRPC":                 false,
		"server.TestDeadline":                       false,
		"cacher.TestDeadlines":                      false,
		"test/e2e.TestKubectl":                      true,
		"e2e.TestKubectl":                           false,
		"cmd/watchcached/app.TestDaemon/GRPC/Close": true,
		"cmd/watchcached/app.TestDaemon/HTTP":       false,
		"conformance.List/B13_ExactList":            true,
		"conformance.Watch/B13_ExactList":           false,
		"TestDeadlines":                             false,
	} {
		if got := r.resolve(ref); got != want {
			t.Errorf("resolve(%q) = %v, want %v", ref, got, want)
		}
	}
}

// TestParseCatalogue: rows are table lines starting with an id; a tests
// column with anything but backquoted references is an error.
func TestParseCatalogue(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.md")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rows, err := parseCatalogue(write("| id | name | behaviour | tests |\n|---|---|---|---|\n" +
		"| B1 | a | text with `code` | `x.TestA`, `conformance.G/S` |\n| B2 | b | c | |\n"))
	if err != nil || len(rows) != 2 || rows[0].id != "B1" || rows[0].line != 3 ||
		strings.Join(rows[0].tests, " ") != "x.TestA conformance.G/S" || len(rows[1].tests) != 0 {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
	for _, bad := range []string{
		"| B1 | a | b | `x.TestA` and x.TestB |\n",
		"| B1 | a | `x.TestA` |\n",
	} {
		if _, err := parseCatalogue(write(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
