package config_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/planner/config"
)

// TestMoved decodes moved blocks and refuses those that cannot be a move,
// with the file and line.
func TestMoved(t *testing.T) {
	const blocks = "kustomization \"site\" {\n  path = \".\"\n}\nrelease \"cache\" {\n  chart = \".\"\n}\n"
	tests := map[string]struct {
		moved string
		want  string // diagnostic "main.hcl:LINE: Summary: detail part", or "" for a move
	}{
		"move":            {moved: "moved {\n  from = kustomization.web\n  to   = kustomization.site\n}\n"},
		"other type":      {moved: "moved {\n  from = kustomization.web\n  to   = release.cache\n}\n", want: "main.hcl:10: Invalid moved block: A block keeps its type"},
		"from still here": {moved: "moved {\n  from = kustomization.site\n  to   = kustomization.site\n}\n", want: "main.hcl:9: Invalid moved block: kustomization.site is still in the stack"},
		"to unknown":      {moved: "moved {\n  from = kustomization.web\n  to   = kustomization.www\n}\n", want: "main.hcl:10: Reference to undeclared block"},
		"quoted":          {moved: "moved {\n  from = \"kustomization.web\"\n  to   = kustomization.site\n}\n", want: "main.hcl:9: Invalid moved block: from must be a block address"},
		"twice": {moved: "moved {\n  from = kustomization.web\n  to   = kustomization.site\n}\nmoved {\n  from = kustomization.web\n  to   = kustomization.site\n}\n",
			want: "main.hcl:13: Duplicate moved block"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(blocks+"\n"+tt.moved), 0o644); err != nil {
				t.Fatal(err)
			}
			st, diags := config.Load(dir, config.LoadOptions{Version: "0.1.0", Getenv: func(string) string { return "" }})
			if tt.want == "" {
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				want := []config.Moved{{From: config.Address{Kind: config.KindKustomization, Name: "web"},
					To: config.Address{Kind: config.KindKustomization, Name: "site"}}}
				if diff := cmp.Diff(want, st.Moved, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".DeclRange" }, cmp.Ignore())); diff != "" {
					t.Errorf("moved (-want +got):\n%s", diff)
				}
				return
			}
			var got []string
			for _, d := range diags {
				got = append(got, filepath.Base(d.Subject.Filename)+":"+itoa(d.Subject.Start.Line)+": "+d.Summary+": "+d.Detail)
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Errorf("diagnostics %q, want one starting with %q", got, tt.want)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
