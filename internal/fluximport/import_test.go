package fluximport

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/golden"
)

// TestImportGolden imports the corpus and compares the stack files and the
// list of issues with testdata/golden. "clean" holds every kind and field
// that strata expresses exactly (no issues); "corpus" adds the leftovers.
func TestImportGolden(t *testing.T) {
	for name, tc := range map[string]struct {
		paths      []string
		wantIssues bool
	}{
		"clean":  {paths: []string{"testdata/corpus/clean"}},
		"corpus": {paths: []string{"testdata/corpus/clean", "testdata/corpus/leftovers"}, wantIssues: true},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Import(tc.paths)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Issues) > 0; got != tc.wantIssues {
				t.Errorf("issues: %v, want some: %v", res.Issues, tc.wantIssues)
			}
			var names []string
			for n, b := range res.Files {
				names = append(names, n)
				golden.Check(t, filepath.Join("testdata/golden", name, n), b)
			}
			sort.Strings(names)
			if diff := cmp.Diff([]string{KustomizationsFile, ReleasesFile, SourcesFile}, names); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			var report strings.Builder
			for _, is := range res.Issues {
				report.WriteString(is.String() + "\n")
			}
			for _, s := range res.Skipped {
				report.WriteString("skipped: " + s + "\n")
			}
			golden.Check(t, filepath.Join("testdata/golden", name, "report.txt"), []byte(report.String()))
		})
	}
}

// TestImportEveryIssueIsAComment checks that each issue is written as a
// TODO comment into the stack, with its file and line.
func TestImportEveryIssueIsAComment(t *testing.T) {
	res, err := Import([]string{"testdata/corpus"})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, b := range res.Files {
		all.Write(b)
	}
	for _, is := range res.Issues {
		if is.Field == "kind" {
			continue // objects without a block: listed on stderr
		}
		want := fmt.Sprintf("# TODO(strata import): %s:%d: %s: %s", is.File, is.Line, is.Field, is.Reason)
		if !strings.Contains(all.String(), want) {
			t.Errorf("issue not in the stack: %s", is)
		}
	}
}

// TestImportBadInput checks that bad input is an error naming the file and
// line.
func TestImportBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		doc  string
		want string
	}{
		"not YAML":            {"apiVersion: v1\nkind: [\n", "bad.yaml:2: not YAML: did not find expected node content"},
		"tab":                 {"apiVersion: v1\n\tkind: x\n", "bad.yaml:2: not YAML: found a tab character"},
		"not a mapping":       {"- a\n- b\n", "bad.yaml:1: a manifest must be a mapping"},
		"no kind":             {"apiVersion: v1\nmetadata:\n  name: x\n", "bad.yaml:1: the document has no apiVersion or kind"},
		"unknown kind":        {"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomisation\nmetadata:\n  name: x\n", "bad.yaml:1: unknown kind Kustomisation of kustomize.toolkit.fluxcd.io; did you mean Kustomization?"},
		"old version":         {"apiVersion: kustomize.toolkit.fluxcd.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: x\n", "bad.yaml:1: Kustomization kustomize.toolkit.fluxcd.io/v1beta1 is not supported"},
		"no name":             {"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nspec:\n  url: https://x/y\n", "bad.yaml:1: GitRepository without metadata.name"},
		"no spec":             {"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: x\n  namespace: a\n", "bad.yaml:1: GitRepository a/x has no spec"},
		"no url":              {"---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: x\n  namespace: a\nspec:\n  interval: 1m\n", "bad.yaml:8: GitRepository a/x: spec.url is required"},
		"no prune":            {gitDoc + kust("  interval: 1m\n"), "bad.yaml:15: Kustomization a/k: spec.prune is required"},
		"prune not a bool":    {gitDoc + kust("  prune: \"yes\"\n"), "bad.yaml:21: Kustomization a/k: spec.prune must be true or false, not \"yes\""},
		"bad duration":        {gitDoc + kust("  prune: true\n  interval: often\n"), "bad.yaml:22: Kustomization a/k: spec.interval must be a duration"},
		"no prune, no source": {kust("  interval: 1m\n"), "bad.yaml:7: Kustomization a/k: spec.prune is required"},
		"no sourceRef":        {"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: k\n  namespace: a\nspec:\n  prune: true\n", "bad.yaml:7: Kustomization a/k: spec.sourceRef is required"},
		"no chart":            {"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: r\n  namespace: a\nspec:\n  interval: 1m\n", "bad.yaml:7: HelmRelease a/r: spec.chart or spec.chartRef is required"},
		"twice":               {kust("  prune: true\n") + "---\n" + kust("  prune: true\n"), "bad.yaml:15: Kustomization a/k is declared twice (first at "},
		"nothing":             {"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "no Flux objects in"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Import([]string{filepath.Join(dir, "bad.yaml")})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// gitDoc is the GitRepository a/g, 8 lines.
const gitDoc = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: g\n  namespace: a\nspec:\n  url: https://x/y\n---\n"

// kust is a Kustomization a/k whose source is the GitRepository a/g, with
// the spec lines extra.
func kust(extra string) string {
	return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: k\n  namespace: a\nspec:\n" +
		"  sourceRef:\n    kind: GitRepository\n    name: g\n  path: ./\n  timeout: 1m\n  wait: true\n" + extra
}

// TestVersionConstraint checks the translation of Flux's (Masterminds)
// constraints into Terraform's syntax.
func TestVersionConstraint(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"*":                "",
		"1.2.3":            "1.2.3",
		"v1.2.3":           "1.2.3",
		"=1.2.3":           "1.2.3",
		"1.2.3-rc.1":       "1.2.3-rc.1",
		">=1.0.0 <2.0.0":   ">= 1.0.0, < 2.0.0",
		">= 1.0.0, < 2.0":  ">= 1.0.0, < 2.0.0",
		"6.5.x":            ">= 6.5.0, < 6.6.0",
		"6.5.*":            ">= 6.5.0, < 6.6.0",
		"15.x":             ">= 15.0.0, < 16.0.0",
		"1.2":              ">= 1.2.0, < 1.3.0",
		"~1.2.3":           ">= 1.2.3, < 1.3.0",
		"~1.2":             ">= 1.2.0, < 1.3.0",
		"~1":               ">= 1.0.0, < 2.0.0",
		"^1.2.3":           ">= 1.2.3, < 2.0.0",
		"^0.2.3":           ">= 0.2.3, < 0.3.0",
		"^0.0.3":           ">= 0.0.3, < 0.0.4",
		"1.2 - 1.4.5":      ">= 1.2.0, <= 1.4.5",
		">2.x":             ">= 3.0.0",
		"<=2.x":            "< 3.0.0",
		"!=1.2.3, >=1.0.0": "!= 1.2.3, >= 1.0.0",
	} {
		got, err := versionConstraint(in)
		if err != nil || got != want {
			t.Errorf("versionConstraint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"1.0 || 2.0", "latest", "!=1.x"} {
		if got, err := versionConstraint(bad); err == nil {
			t.Errorf("versionConstraint(%q) = %q, want an error", bad, got)
		}
	}
}

// TestImportOCIRepositoryBothUses imports an OCIRepository that a release
// takes its chart from and a kustomization its manifests from: it becomes a
// source "helm" and a source "oci", each with its notes, and a setting left
// out of both is listed once.
func TestImportOCIRepositoryBothUses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "flux.yaml")
	src := `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: shared, namespace: ns}
spec:
  interval: 5m
  url: oci://registry.example.com/org/app
  provider: azure
  ref: {semver: ">=1.0.0", semverFilter: ".*-rc"}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app, namespace: ns}
spec:
  interval: 5m
  chartRef: {kind: OCIRepository, name: shared}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: ns}
spec:
  interval: 5m
  prune: true
  sourceRef: {kind: OCIRepository, name: shared}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Import([]string{file})
	if err != nil {
		t.Fatal(err)
	}
	sources := string(res.Files[SourcesFile])
	for _, want := range []string{`source "helm" "shared"`, `source "oci" "shared"`, `url      = "oci://registry.example.com/org/app"`, `semver   = ">= 1.0.0"`} {
		if !strings.Contains(sources, want) {
			t.Errorf("sources lack %q:\n%s", want, sources)
		}
	}
	if n := strings.Count(sources, "spec.provider: strata has no azure workload identity"); n != 2 {
		t.Errorf("provider note in %d blocks, want 2:\n%s", n, sources)
	}
	if k := string(res.Files[KustomizationsFile]); !strings.Contains(k, "source   = source.oci.shared") {
		t.Errorf("kustomization does not use source.oci.shared:\n%s", k)
	}
	count := map[string]int{}
	for _, is := range res.Issues {
		count[is.Field]++
	}
	if count["spec.provider"] != 1 || count["spec.ref.semverFilter"] != 1 {
		t.Errorf("issues %v: want spec.provider and spec.ref.semverFilter once each", res.Issues)
	}
}

// TestImportOCIRef checks the ref of a source "oci" against Flux's
// precedence: digest, then semver, then tag, and the tag latest without a
// ref; a semver strata cannot express falls back to the tag, with an issue.
func TestImportOCIRef(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for name, tc := range map[string]struct{ ref, want, issue string }{
		"digest first":   {ref: `{digest: "` + digest + `", semver: ">=1.0.0", tag: v1}`, want: `digest   = "` + digest + `"`},
		"semver next":    {ref: `{semver: ">=1.0.0", tag: v1}`, want: `semver   = ">= 1.0.0"`},
		"tag":            {ref: `{tag: v1}`, want: `tag      = "v1"`},
		"no ref":         {ref: `{}`, want: `tag      = "latest"`},
		"bad semver":     {ref: `{semver: ">=1.0.0 || <0.5.0", tag: v1}`, want: `tag      = "v1"`, issue: "spec.ref.semver"},
		"semver filter":  {ref: `{semver: ">=1.0.0", semverFilter: ".*-rc"}`, want: `semver   = ">= 1.0.0"`, issue: "spec.ref.semverFilter"},
		"digest, filter": {ref: `{digest: "` + digest + `", semver: ">=1.0.0", semverFilter: ".*-rc"}`, want: `digest   = "` + digest + `"`},
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "flux.yaml")
			src := "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: m, namespace: ns}\nspec:\n  interval: 5m\n  url: oci://registry.example.com/m\n  ref: " + tc.ref + "\n"
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := Import([]string{file})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(res.Files[SourcesFile]); !strings.Contains(got, tc.want) || strings.Count(got, "  tag ")+strings.Count(got, "  semver ")+strings.Count(got, "  digest ") != 1 {
				t.Errorf("want exactly one reference, %q:\n%s", tc.want, got)
			}
			var fields []string
			for _, is := range res.Issues {
				fields = append(fields, is.Field)
			}
			var want []string
			if tc.issue != "" {
				want = []string{tc.issue}
			}
			if diff := cmp.Diff(want, fields); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
}
