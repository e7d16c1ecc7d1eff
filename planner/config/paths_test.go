package config_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/planner/config"
)

// TestPathsConfinedToStack checks that every path a stack names is read
// only inside the stack directory: absolute paths, "..", and symbolic links
// that lead out are refused with a diagnostic at the attribute; links that
// stay inside are followed.
func TestPathsConfinedToStack(t *testing.T) {
	// secret is outside every stack directory: nothing may read it.
	outside := t.TempDir()
	secret := filepath.Join(outside, "kubeconfig")
	if err := os.WriteFile(secret, []byte("token: s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(outside, "chart", "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	chartYAML := "apiVersion: v2\nname: web\nversion: 0.1.0\n"
	if err := os.WriteFile(filepath.Join(outside, "chart", "Chart.yaml"), []byte(chartYAML), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		main  string
		files map[string]string
		links map[string]string // link name -> target (relative, or "SECRET", "OUTSIDE")
		// want is "line: Summary" of the one error, "" for none.
		want string
	}{
		"file absolute": {
			main: "locals {\n  x = file(\"SECRET\")\n}\n",
			want: "2: Invalid function argument",
		},
		"file dotdot": {
			main: "locals {\n  x = file(\"RELOUT/kubeconfig\")\n}\n",
			want: "2: Invalid function argument",
		},
		"file symlink out": {
			main:  "locals {\n  x = file(\"kubeconfig\")\n}\n",
			links: map[string]string{"kubeconfig": "SECRET"},
			want:  "2: Invalid function argument",
		},
		"file through linked directory out": {
			main:  "locals {\n  x = file(\"home/kubeconfig\")\n}\n",
			links: map[string]string{"home": "OUTSIDE"},
			want:  "2: Invalid function argument",
		},
		"file symlink within": {
			main:  "locals {\n  x = file(\"link.txt\")\n}\n",
			files: map[string]string{"data/real.txt": "ok"},
			links: map[string]string{"link.txt": "data/real.txt"},
		},
		"file dotdot within": {
			main:  "locals {\n  x = file(\"data/../data/real.txt\")\n}\n",
			files: map[string]string{"data/real.txt": "ok"},
		},
		// A CI checkout keeps its token in .git/config.
		"file in .git": {
			main:  "locals {\n  x = file(\".git/config\")\n}\n",
			files: map[string]string{".git/config": "token"},
			want:  "2: Invalid function argument",
		},
		"file through a link into .git": {
			main:  "locals {\n  x = file(\"cfg\")\n}\n",
			files: map[string]string{".git/config": "token"},
			links: map[string]string{"cfg": ".git/config"},
			want:  "2: Invalid function argument",
		},
		"values file in .git": {
			main:  "release \"web\" {\n  chart        = \"chart\"\n  values_files = [\".git/config\"]\n}\n",
			files: map[string]string{".git/config": "token", "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n"},
			want:  "3: Path outside the stack directory",
		},
		// Helm's chart loader reads every file of the chart directory.
		"chart at the stack directory, which holds .git": {
			main:  "release \"web\" {\n  chart = \".\"\n}\n",
			files: map[string]string{".git/config": "token", "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n"},
			want:  "2: Path outside the stack directory",
		},
		"chart holding a link into .git": {
			main:  "release \"web\" {\n  chart = \"chart\"\n}\n",
			files: map[string]string{".git/config": "token", "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n"},
			links: map[string]string{"chart/g": "../.git"},
			want:  "2: Path outside the stack directory",
		},
		"templatefile absolute": {
			main: "locals {\n  x = templatefile(\"SECRET\", {})\n}\n",
			want: "2: Invalid function argument",
		},
		"templatefile symlink out": {
			main:  "locals {\n  x = templatefile(\"t.tpl\", {})\n}\n",
			links: map[string]string{"t.tpl": "SECRET"},
			want:  "2: Invalid function argument",
		},
		"file inside templatefile": {
			main:  "locals {\n  x = templatefile(\"t.tpl\", {})\n}\n",
			files: map[string]string{"t.tpl": "${file(\"SECRET\")}"},
			want:  "2: Invalid function argument",
		},
		"values file absolute": {
			main:  "release \"web\" {\n  chart = \"chart\"\n  values_files = [\"SECRET\"]\n}\n",
			files: map[string]string{"chart/Chart.yaml": chartYAML},
			want:  "3: Path outside the stack directory",
		},
		"values file symlink out": {
			main:  "release \"web\" {\n  chart = \"chart\"\n  values_files = [\"prod.yaml\"]\n}\n",
			files: map[string]string{"chart/Chart.yaml": chartYAML},
			links: map[string]string{"prod.yaml": "SECRET"},
			want:  "3: Path outside the stack directory",
		},
		"values file symlink within": {
			main:  "release \"web\" {\n  chart = \"chart\"\n  values_files = [\"prod.yaml\"]\n}\n",
			files: map[string]string{"chart/Chart.yaml": chartYAML, "values/prod.yaml": "a: 1\n"},
			links: map[string]string{"prod.yaml": "values/prod.yaml"},
		},
		"chart dotdot": {
			main: "release \"web\" {\n  chart = \"RELOUT/chart\"\n}\n",
			want: "2: Path outside the stack directory",
		},
		"chart absolute": {
			main: "release \"web\" {\n  chart = \"OUTSIDE/chart\"\n}\n",
			want: "2: Path outside the stack directory",
		},
		"chart symlink out": {
			main:  "release \"web\" {\n  chart = \"chart\"\n}\n",
			links: map[string]string{"chart": "OUTSIDE/chart"},
			want:  "2: Path outside the stack directory",
		},
		"chart holds a symlink out": {
			main:  "release \"web\" {\n  chart = \"chart\"\n}\n",
			files: map[string]string{"chart/Chart.yaml": chartYAML},
			links: map[string]string{"chart/templates/cm.yaml": "SECRET"},
			want:  "2: Path outside the stack directory",
		},
		"chart symlink within": {
			main:  "release \"web\" {\n  chart = \"web\"\n}\n",
			files: map[string]string{"charts/web/Chart.yaml": chartYAML},
			links: map[string]string{"web": "charts/web"},
		},
		"chart dotdot in a Git source": {
			main: "source \"git\" \"s\" {\n  url = \"https://example.com/r\"\n}\nrelease \"web\" {\n  source = source.git.s\n  chart  = \"charts/../../x\"\n}\n",
			want: "6: Invalid path",
		},
		"kustomization path dotdot": {
			main: "kustomization \"app\" {\n  path = \"RELOUT\"\n}\n",
			want: "2: Path outside the stack directory",
		},
		"kustomization path symlink out": {
			main:  "kustomization \"app\" {\n  path = \"app\"\n}\n",
			links: map[string]string{"app": "OUTSIDE"},
			want:  "2: Path outside the stack directory",
		},
		"kustomization path . holding a link out": {
			main:  "kustomization \"app\" {\n  path = \".\"\n}\n",
			files: map[string]string{"kustomization.yaml": "resources: []\n"},
			links: map[string]string{"app/kubeconfig": "SECRET"},
			want:  "2: Path outside the stack directory",
		},
		// strata's state and cache, and Git's metadata, are not walked: they
		// can be large, and no kustomization reads them.
		"kustomization path . with links out in .strata and .git": {
			main:  "kustomization \"app\" {\n  path = \".\"\n}\n",
			files: map[string]string{"kustomization.yaml": "resources: []\n"},
			links: map[string]string{".strata/cache/git/x/kubeconfig": "SECRET", ".git/home": "OUTSIDE"},
		},
		"kustomization linking to the stack directory, links out in .strata": {
			main:  "kustomization \"app\" {\n  path = \"app\"\n}\n",
			files: map[string]string{"app/kustomization.yaml": "resources: []\n"},
			links: map[string]string{"app/up": "..", ".strata/cache/git/x/kubeconfig": "SECRET"},
		},
		// Key files: a pull request could name any file of the machine as a
		// key; keys kept elsewhere come from the environment.
		"key file absolute": {
			main:  "kustomization \"app\" {\n  path = \"app\"\n  decryption {\n    provider           = \"sops\"\n    age_identity_files = [\"SECRET\"]\n  }\n}\n",
			files: map[string]string{"app/kustomization.yaml": "resources: []\n"},
			want:  "5: Path outside the stack directory",
		},
		"key file in the home directory": {
			main:  "release \"web\" {\n  chart = \"chart\"\n  decryption {\n    provider              = \"sops\"\n    pgp_private_key_files = [\"~/.gnupg/ci.asc\"]\n  }\n}\n",
			files: map[string]string{"chart/Chart.yaml": chartYAML},
			want:  "5: Path outside the stack directory",
		},
		"key file dotdot": {
			main:  "kustomization \"app\" {\n  path = \"app\"\n  decryption {\n    provider           = \"sops\"\n    age_identity_files = [\"RELOUT/kubeconfig\"]\n  }\n}\n",
			files: map[string]string{"app/kustomization.yaml": "resources: []\n"},
			want:  "5: Path outside the stack directory",
		},
		"key file symlink out": {
			main:  "kustomization \"app\" {\n  path = \"app\"\n  decryption {\n    provider           = \"sops\"\n    age_identity_files = [\"keys/age.txt\"]\n  }\n}\n",
			files: map[string]string{"app/kustomization.yaml": "resources: []\n"},
			links: map[string]string{"keys/age.txt": "SECRET"},
			want:  "5: Path outside the stack directory",
		},
		// A key file that the job writes before the plan need not exist.
		"key file within, not written yet": {
			main:  "kustomization \"app\" {\n  path = \"app\"\n  decryption {\n    provider           = \"sops\"\n    age_identity_files = [\"keys/age.txt\"]\n  }\n}\n",
			files: map[string]string{"app/kustomization.yaml": "resources: []\n"},
		},
		"environment var file dotdot": {
			main: "environment \"prod\" {\n  var_files = [\"RELOUT/kubeconfig\"]\n}\n",
			want: "2: Cannot read a variables file",
		},
		"environment var file symlink out": {
			main:  "environment \"prod\" {\n  var_files = [\"prod.vars.hcl\"]\n}\n",
			links: map[string]string{"prod.vars.hcl": "SECRET"},
			want:  "2: Cannot read a variables file",
		},
		"auto vars file symlink out": {
			main:  "variable \"x\" {\n  default = \"\"\n}\n",
			links: map[string]string{"ci.auto.vars.hcl": "SECRET"},
			want:  "1: Stack file outside the stack directory",
		},
		"stack file symlink out": {
			main:  "locals {}\n",
			links: map[string]string{"other.hcl": "SECRET"},
			want:  "1: Stack file outside the stack directory",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rel, err := filepath.Rel(dir, outside)
			if err != nil {
				t.Fatal(err)
			}
			expand := func(s string) string {
				s = strings.ReplaceAll(s, "RELOUT", rel)
				s = strings.ReplaceAll(s, "SECRET", secret)
				return strings.ReplaceAll(s, "OUTSIDE", outside)
			}
			files := map[string]string{"main.hcl": expand(tt.main)}
			for n, src := range tt.files {
				files[n] = expand(src)
			}
			writeFiles(t, dir, files)
			for n, target := range tt.links {
				p := filepath.Join(dir, n)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(expand(target), p); err != nil {
					t.Fatal(err)
				}
			}
			opts := config.LoadOptions{Version: "0.1.0"}
			if strings.Contains(tt.main, "environment \"prod\"") {
				opts.Environment = "prod"
			}
			_, diags := config.Load(dir, opts)
			var got []string
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic without a range: %s: %s", d.Summary, d.Detail)
					continue
				}
				got = append(got, strconv.Itoa(d.Subject.Start.Line)+": "+d.Summary)
				if strings.Contains(d.Detail, "s3cret") {
					t.Errorf("diagnostic shows the outside file's content: %s", d.Detail)
				}
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("diagnostics %q, want none (%s)", got, diags.Error())
			case tt.want != "" && (len(got) != 1 || got[0] != tt.want):
				t.Errorf("diagnostics %q, want [%q] (%s)", got, tt.want, diags.Error())
			}
		})
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKubeconfigNotReadable is the case of issue 12: a pull request that
// substitutes the CI's kubeconfig into a manifest.
func TestKubeconfigNotReadable(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte("token: s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.hcl":           "kustomization \"app\" {\n  substitute = { x = base64encode(file(env(\"KUBECONFIG\"))) }\n}\n",
		"kustomization.yaml": "resources: []\n",
	})
	st, diags := config.Load(dir, config.LoadOptions{Version: "0.1.0", Getenv: func(k string) string {
		if k == "KUBECONFIG" {
			return kubeconfig
		}
		return ""
	}})
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if k := st.Kustomizations["app"]; k != nil && k.Substitute["x"] != "" {
		t.Errorf("substitute x = %q, want nothing read", k.Substitute["x"])
	}
}
