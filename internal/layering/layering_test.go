package layering_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/strata-gitops/strata"

// goList runs `go list -f format patterns...` and returns its lines, each
// split into fields.
func goList(t *testing.T, format string, patterns ...string) [][]string {
	t.Helper()
	// The go command of the toolchain that runs this test: always there,
	// whatever PATH holds.
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goCmd, append([]string{"list", "-f", format}, patterns...)...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, msg)
	}
	var lines [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		lines = append(lines, strings.Fields(l))
	}
	return lines
}

// TestLayering checks that no state/ or providers/ package depends on
// planner/ or cmd/ (directly or not), that internal/addrs depends on no
// other package of strata, and that cmd/strata imports no providers/
// package.
func TestLayering(t *testing.T) {
	rules := []struct {
		patterns  []string
		forbidden []string // import path prefixes below module/
	}{
		{[]string{module + "/state/...", module + "/providers/..."}, []string{"planner", "cmd"}},
		{[]string{module + "/internal/addrs"}, []string{""}},
	}
	for _, r := range rules {
		for _, line := range goList(t, `{{.ImportPath}} {{join .Deps " "}}`, r.patterns...) {
			pkg, deps := line[0], line[1:]
			for _, d := range deps {
				for _, f := range r.forbidden {
					if d != pkg && (d == module+"/"+f || strings.HasPrefix(d, module+"/"+f)) {
						t.Errorf("%s depends on %s", pkg, d)
					}
				}
			}
		}
	}
	for _, line := range goList(t, `{{.ImportPath}} {{join .Imports " "}}`, module+"/cmd/...") {
		for _, d := range line[1:] {
			if strings.HasPrefix(d, module+"/providers/") {
				t.Errorf("%s imports %s: commands reach providers through the planner", line[0], d)
			}
		}
	}
}
