package docs

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// row is one behaviour of behaviours.md: its id, where it is, and the
// tests its last column names.
type row struct {
	id    string
	line  int
	tests []string
}

var (
	rowStart = regexp.MustCompile(`^\|\s*(B[0-9]+)\s*\|`)
	quoted   = regexp.MustCompile("`([^`]*)`")
)

// parseCatalogue reads the behaviour rows of the catalogue at path. A row
// is a table line whose first cell is an id; its last cell must be a
// comma-separated list of backquoted test references and nothing else, so
// that a test cited in plain words cannot slip past the checks.
func parseCatalogue(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := rowStart.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 4 {
			return nil, fmt.Errorf("%s:%d: row %s has %d cells, want 4 (id, name, behaviour, tests)", path, n, m[1], len(cells))
		}
		last := cells[len(cells)-1]
		var tests []string
		for _, q := range quoted.FindAllStringSubmatch(last, -1) {
			tests = append(tests, q[1])
		}
		if rest := strings.Trim(quoted.ReplaceAllString(last, ""), " ,"); rest != "" {
			return nil, fmt.Errorf("%s:%d: row %s: tests column has text outside backquotes: %q", path, n, m[1], rest)
		}
		rows = append(rows, row{id: m[1], line: n, tests: tests})
	}
	return rows, sc.Err()
}
