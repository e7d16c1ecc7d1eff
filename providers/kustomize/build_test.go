package kustomize

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// writeTree writes files (path -> content) under a new temporary directory.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	// Spaces and commas in the path are fine (kyaml's in-memory file system
	// refuses them).
	root := filepath.Join(t.TempDir(), "my tree, v2")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
`

const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  env: ${cluster_env}
  region: ${region:=eu-west-1}
  literal: $${kept}
`

// summary renders the objects as sorted "Kind/ns/name field=value" lines
// for the given fields (dot paths).
func summary(objs []*unstructured.Unstructured, fields ...string) []string {
	var out []string
	for _, o := range objs {
		line := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
		for _, f := range fields {
			if v, ok, _ := unstructured.NestedFieldNoCopy(o.Object, strings.Split(f, ".")...); ok {
				line += " " + f + "=" + toString(v)
			}
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			if m, ok := x.(map[string]any); ok {
				parts[i] = toString(m["image"])
				continue
			}
			parts[i] = toString(x)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k+":"+toString(v[k]))
		}
		sort.Strings(keys)
		return "{" + strings.Join(keys, ",") + "}"
	case nil:
		return "<nil>"
	}
	return fmt.Sprint(v)
}

func TestBuildErrors(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n"})
	tests := map[string]struct {
		files    map[string]string
		symlinks map[string]string // link -> target (absolute, or relative to the link)
		opts     Options
		outside  bool   // want ErrOutsideRoot
		contains string // else the error must contain this
	}{
		"path with ../ leaving the tree": {
			opts:    Options{Path: "../"},
			outside: true,
		},
		"absolute path": {
			opts:    Options{Path: "/etc"},
			outside: true,
		},
		"kustomization referring outside the tree": {
			files:   map[string]string{"app/kustomization.yaml": "resources: [OUTSIDE/secret.yaml]\n"},
			opts:    Options{Path: "app"},
			outside: true,
		},
		"path that is a symlink out of the tree": {
			symlinks: map[string]string{"app": outside},
			opts:     Options{Path: "app"},
			outside:  true,
		},
		"symlinked manifest out of the tree": {
			files:    map[string]string{"app/kustomization.yaml": "resources: [secret.yaml]\n"},
			symlinks: map[string]string{"app/secret.yaml": filepath.Join(outside, "secret.yaml")},
			opts:     Options{Path: "app"},
			outside:  true,
		},
		"missing directory": {
			opts:     Options{Path: "nope"},
			contains: `path "nope": directory not found`,
		},
		"strict substitution of a missing variable": {
			files:    map[string]string{"cm.yaml": configMap},
			opts:     Options{Substitute: map[string]string{"other": "x"}, StrictSubstitute: true},
			contains: "cluster_env",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := writeTree(t, tc.files)
			if k := filepath.Join(root, "app/kustomization.yaml"); tc.files["app/kustomization.yaml"] != "" {
				rel, err := filepath.Rel(filepath.Join(root, "app"), outside)
				if err != nil {
					t.Fatal(err)
				}
				data := strings.ReplaceAll(tc.files["app/kustomization.yaml"], "OUTSIDE", rel)
				if err := os.WriteFile(k, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for link, target := range tc.symlinks {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, link)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
					t.Fatal(err)
				}
			}
			tc.opts.Root = root
			objs, err := Build(context.Background(), tc.opts)
			if err == nil {
				t.Fatalf("Build succeeded with %d objects, want an error", len(objs))
			}
			if tc.outside != errors.Is(err, ErrOutsideRoot) {
				t.Errorf("errors.Is(err, ErrOutsideRoot) = %v, want %v; err: %v", !tc.outside, tc.outside, err)
			}
			if tc.contains != "" && !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
			if strings.Contains(err.Error(), "stolen") {
				t.Errorf("error leaks content from outside the tree: %v", err)
			}
		})
	}
}

// Objects hold JSON types only, like objects from client-go: DeepCopy would
// panic on an int.
func TestBuildJSONTypes(t *testing.T) {
	root := writeTree(t, map[string]string{"deploy.yaml": deployment})
	objs, err := Build(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	c := objs[0].DeepCopy()
	if n, ok, err := unstructured.NestedInt64(c.Object, "spec", "replicas"); !ok || err != nil || n != 1 {
		t.Errorf("spec.replicas = %v, %v, %v", n, ok, err)
	}
}

// TestBuildOrigins checks that Origins names each object's file relative to
// the root, also for a base, and for a kustomization that asks for origin
// annotations itself; an object a generator of a base makes is the base's
// kustomization file's.
func TestBuildOrigins(t *testing.T) {
	for name, own := range map[string]string{"generated": "", "own build metadata": "buildMetadata: [originAnnotations]\n"} {
		t.Run(name, func(t *testing.T) {
			root := writeTree(t, map[string]string{
				"app/kustomization.yaml":  own + "resources: [../base, deploy.yaml]\n",
				"app/deploy.yaml":         deployment,
				"base/kustomization.yaml": "resources: [cm.yaml]\nsecretGenerator:\n- name: creds\n  literals: [a=b]\n",
				"base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
			})
			objs, err := Build(context.Background(), Options{Root: root, Path: "app", Origins: true})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, o := range objs {
				got[o.GetKind()] = Origin("app", o)
			}
			want := map[string]string{"ConfigMap": "base/cm.yaml", "Deployment": "app/deploy.yaml", "Secret": "base/kustomization.yaml"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("origins (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildRefusesRemoteFiles: kustomize fetches http(s) URLs itself, past
// the confined file system, so a kustomization could put what any URL the
// machine reaches serves (a cloud metadata endpoint's credentials) into the
// plan. Build refuses them without a request.
func TestBuildRefusesRemoteFiles(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\ndata: {token: s3cret}\n")
	}))
	defer srv.Close()
	tests := map[string]struct {
		files map[string]string
		want  string // the kustomization file named by the error
	}{
		"resource": {
			files: map[string]string{"app/kustomization.yaml": "resources: [URL/cm.yaml]\n"},
			want:  "app/kustomization.yaml",
		},
		"resource of a base": {
			files: map[string]string{
				"app/kustomization.yaml":  "resources: [../base]\n",
				"base/kustomization.yaml": "resources:\n- URL/cm.yaml\n",
			},
			want: "base/kustomization.yaml",
		},
		"generator file with a key": {
			files: map[string]string{"app/kustomization.yaml": "configMapGenerator:\n- name: creds\n  files: [token=URL/token]\n"},
			want:  "app/kustomization.yaml",
		},
		"generator env file": {
			files: map[string]string{"app/kustomization.yaml": "secretGenerator:\n- name: creds\n  envs: [URL/env]\n"},
			want:  "app/kustomization.yaml",
		},
		"patch": {
			files: map[string]string{
				"app/kustomization.yaml": "resources: [cm.yaml]\npatches:\n- path: URL/patch.yaml\n",
				"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
			},
			want: "app/kustomization.yaml",
		},
		"component": {
			files: map[string]string{"app/Kustomization": "components: [URL/c]\n"},
			want:  "app/Kustomization",
		},
		// Git repositories: kustomize would clone them with the system's git.
		"git repository over ssh": {
			files: map[string]string{"app/kustomization.yaml": "resources: [\"ssh://git@127.0.0.1:1/org/repo//base?ref=v1\"]\n"},
			want:  "app/kustomization.yaml",
		},
		"local git repository": {
			files: map[string]string{"app/kustomization.yaml": "resources: [\"file:///tmp/repo//base\"]\n"},
			want:  "app/kustomization.yaml",
		},
		"github path": {
			files: map[string]string{"app/kustomization.yaml": "bases: [\"github.com/org/repo/base?ref=v1\"]\n"},
			want:  "app/kustomization.yaml",
		},
		"scp-like git repository": {
			files: map[string]string{"app/kustomization.yaml": "components: [\"git@example.com:org/repo.git//c\"]\n"},
			want:  "app/kustomization.yaml",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{}
			for p, c := range tc.files {
				files[p] = strings.ReplaceAll(c, "URL", srv.URL)
			}
			objs, err := Build(context.Background(), Options{Root: writeTree(t, files), Path: "app"})
			if err == nil {
				t.Fatalf("Build succeeded with %d objects, want an error", len(objs))
			}
			if !errors.Is(err, ErrOutsideRoot) || !strings.Contains(err.Error(), tc.want+" names the remote file") {
				t.Errorf("error %q: want ErrOutsideRoot naming %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the remote content: %v", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests, want none", n)
	}
	// A URL where kustomize fetches nothing is fine.
	root := writeTree(t, map[string]string{
		"kustomization.yaml": "resources: [cm.yaml]\ncommonAnnotations: {docs: " + srv.URL + "/docs}\n",
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
	})
	if _, err := Build(context.Background(), Options{Root: root}); err != nil {
		t.Errorf("a URL in an annotation: %v", err)
	}
}

// TestBuildRefusesGitMetadata: a CI checkout keeps its token in
// .git/config (actions/checkout); a generator would put the file in a
// ConfigMap of the plan.
func TestBuildRefusesGitMetadata(t *testing.T) {
	tests := map[string]struct {
		kustomization string
		link          string // app/cfg -> this, when set
	}{
		"generator file":         {kustomization: "configMapGenerator:\n- name: x\n  files: [../.git/config]\n"},
		"generator file by link": {kustomization: "configMapGenerator:\n- name: x\n  files: [cfg]\n", link: "../.git/config"},
		"resource":               {kustomization: "resources: [../.git/config]\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := writeTree(t, map[string]string{
				".git/config":            "[http]\n\textraheader = AUTHORIZATION: basic s3cret\n",
				"app/kustomization.yaml": tc.kustomization,
			})
			if tc.link != "" {
				if err := os.Symlink(tc.link, filepath.Join(root, "app", "cfg")); err != nil {
					t.Fatal(err)
				}
			}
			objs, err := Build(context.Background(), Options{Root: root, Path: "app"})
			if err == nil {
				t.Fatalf("Build succeeded with %d objects, want an error", len(objs))
			}
			if !errors.Is(err, ErrOutsideRoot) || !strings.Contains(err.Error(), "Git's metadata directory") {
				t.Errorf("error %q: want ErrOutsideRoot about Git's metadata", err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the file: %v", err)
			}
		})
	}
}

// TestBuildGeneratedLeavesOutStrataDir: the kustomization generated for a
// directory without one lists its manifests, but not those of strata's
// cache beside them (the trees of Git sources, a chart repository's
// index.yaml).
func TestBuildGeneratedLeavesOutStrataDir(t *testing.T) {
	root := writeTree(t, map[string]string{
		"cm.yaml":                           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mine}\n",
		".strata/cache/git/abc/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-cache}\n",
		".strata/cache/helm/abc/index.yaml": "apiVersion: v1\nentries: {}\n",
	})
	objs, err := Build(context.Background(), Options{Root: root, Path: "."})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	if diff := cmp.Diff([]string{"mine"}, names); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

// TestBuildNamesBrokenBaseKustomizationFile: a kustomization file of a base
// or a component that does not parse is named in the error, with the line
// the YAML parser gives, not only its directory, and without kustomize's
// try of the base as a file ("read base: is a directory").
func TestBuildNamesBrokenBaseKustomizationFile(t *testing.T) {
	broken := "resources:\n- cm.yaml\nnamePrefix: [x-\nfoo: bar\n"
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"base": {map[string]string{
			"app/kustomization.yaml":  "resources: [../base]\n",
			"base/kustomization.yaml": broken,
		}, "kustomization app: accumulating resources from '../base': base/kustomization.yaml: invalid Kustomization: yaml: line 3: did not find expected ',' or ']'"},
		"base of a base, kustomization.yml": {map[string]string{
			"app/kustomization.yaml": "resources: [../mid]\n",
			"mid/kustomization.yaml": "resources: [../base]\n",
			"base/kustomization.yml": broken,
		}, "base/kustomization.yml: invalid Kustomization: yaml: line 3: "},
		"component": {map[string]string{
			"app/kustomization.yaml":  "components: [../comp]\n",
			"comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n" + broken,
		}, "comp/kustomization.yaml: invalid Kustomization: yaml: line 5: "},
	} {
		t.Run(name, func(t *testing.T) {
			root := writeTree(t, tc.files)
			_, err := Build(context.Background(), Options{Root: root, Path: "app"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "is a directory") || strings.Contains(err.Error(), root) {
				t.Errorf("Build: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
