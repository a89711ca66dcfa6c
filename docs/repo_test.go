package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// testFunc is a Test function of some package and the names of the
// subtests its body starts with string literals (t.Run("name", ...)).
type testFunc struct {
	subtests map[string]bool
}

// walkRepo calls fn for every file under root whose name ends in one of
// exts, with its slash-separated path relative to root. Hidden directories
// (.git, .ci) and testdata are skipped.
func walkRepo(root string, exts []string, fn func(rel, abs string) error) error {
	return filepath.WalkDir(root, func(abs string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if abs != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		for _, ext := range exts {
			if strings.HasSuffix(name, ext) {
				rel, err := filepath.Rel(root, abs)
				if err != nil {
					return err
				}
				return fn(filepath.ToSlash(rel), abs)
			}
		}
		return nil
	})
}

// collectTests parses every _test.go file under root and returns its Test
// functions keyed "<package dir>.<TestName>", e.g. "test/e2e.TestKubectl".
func collectTests(root string) (map[string]testFunc, error) {
	tests := map[string]testFunc{}
	fset := token.NewFileSet()
	err := walkRepo(root, []string{"_test.go"}, func(rel, abs string) error {
		f, err := parser.ParseFile(fset, abs, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !strings.HasPrefix(fd.Name.Name, "Test") || fd.Body == nil {
				continue
			}
			tests[path.Dir(rel)+"."+fd.Name.Name] = testFunc{subtests: runLiterals(fd.Body)}
		}
		return nil
	})
	return tests, err
}

// runLiterals returns the string literals passed as first argument to a
// Run method anywhere in body.
func runLiterals(body ast.Node) map[string]bool {
	names := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Run" {
			if s, ok := stringLit(call.Args[0]); ok {
				names[s] = true
			}
		}
		return true
	})
	return names
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// collectScenarios reads the conformance suite in dir and returns its
// scenarios as "<Group>/<Scenario>", e.g. "List/B13_ExactList": Run names
// each group with t.Run("Group", func(...) { runGroup(t, f) }), and
// runGroup lists its scenarios in a []scenario{{"Name", fn}, ...} literal.
func collectScenarios(dir string) (map[string]bool, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	groups := map[string]string{}    // group name -> function running it
	perFunc := map[string][]string{} // function -> scenario names in it
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			perFunc[fd.Name.Name] = scenarioNames(fd.Body)
			if fd.Name.Name == "Run" {
				for g, fn := range groupRunners(fd.Body) {
					groups[g] = fn
				}
			}
		}
	}
	out := map[string]bool{}
	for g, fn := range groups {
		for _, s := range perFunc[fn] {
			out[g+"/"+s] = true
		}
	}
	return out, nil
}

// groupRunners maps each t.Run("Group", func(...) { runX(...) }) in body
// to the name of the function it calls.
func groupRunners(body ast.Node) map[string]string {
	out := map[string]string{}
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		name, isLit := stringLit(call.Args[0])
		lit, isFunc := call.Args[1].(*ast.FuncLit)
		if !ok || sel.Sel.Name != "Run" || !isLit || !isFunc || len(lit.Body.List) != 1 {
			return true
		}
		if es, ok := lit.Body.List[0].(*ast.ExprStmt); ok {
			if inner, ok := es.X.(*ast.CallExpr); ok {
				if id, ok := inner.Fun.(*ast.Ident); ok {
					out[name] = id.Name
				}
			}
		}
		return true
	})
	return out
}

// scenarioNames returns the names in every []scenario{...} literal in body.
func scenarioNames(body ast.Node) []string {
	var names []string
	ast.Inspect(body, func(n ast.Node) bool {
		cl, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		arr, ok := cl.Type.(*ast.ArrayType)
		if !ok {
			return true
		}
		if elt, ok := arr.Elt.(*ast.Ident); !ok || elt.Name != "scenario" {
			return true
		}
		for _, e := range cl.Elts {
			if sc, ok := e.(*ast.CompositeLit); ok && len(sc.Elts) > 0 {
				if s, ok := stringLit(sc.Elts[0]); ok {
					names = append(names, s)
				}
			}
		}
		return false
	})
	return names
}

var idPattern = regexp.MustCompile(`\bB[0-9]+\b`)

// collectIDs returns every behaviour id mentioned in a Go file, a .proto
// or a Markdown file under root, with the first place it was seen.
func collectIDs(root string) (map[string]string, error) {
	ids := map[string]string{}
	err := walkRepo(root, []string{".go", ".proto", ".md"}, func(rel, abs string) error {
		b, err := os.ReadFile(abs)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, id := range idPattern.FindAllString(line, -1) {
				if _, seen := ids[id]; !seen {
					ids[id] = rel + ":" + strconv.Itoa(i+1)
				}
			}
		}
		return nil
	})
	return ids, err
}

// idsInName returns the ids a test or scenario name carries as
// underscore-separated words, e.g. B2 and B3 in TestGet_B2_B3_Zero.
func idsInName(name string) []string {
	var ids []string
	for _, word := range strings.Split(name, "_") {
		if idPattern.MatchString(word) && idPattern.FindString(word) == word {
			ids = append(ids, word)
		}
	}
	return ids
}
