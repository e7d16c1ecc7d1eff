package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/providers/kustomize"
)

// TestRenderKeepsBuildObjects renders a kustomization with common labels,
// annotations and substitution and wants objects that deep-copy as JSON
// values, for no more work than kustomize.Build: Build already makes them
// JSON values, and a second JSON round trip of every object (which
// renderKustomization did) cost about 6% more allocations.
func TestRenderKeepsBuildObjects(t *testing.T) {
	dir := t.TempDir()
	var y strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&y, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d%d}\nspec:\n  replicas: 2\n  template:\n    spec: {containers: [{name: a, image: \"${image}\", ports: [{containerPort: 8080}]}]}\n", i)
	}
	for name, data := range map[string]string{"kustomization.yaml": "resources: [objects.yaml]\n", "objects.yaml": y.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k := &config.Kustomization{Name: "app", Path: ".", CommonLabels: map[string]string{"team": "a"},
		CommonAnnotations: map[string]string{"note": "b"}, Substitute: map[string]string{"image": "nginx:1.27"}}
	ctx := context.Background()
	objs, err := renderKustomization(ctx, k, dir, renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 200 {
		t.Fatalf("%d objects, want 200", len(objs))
	}
	for _, o := range objs {
		_ = runtime.DeepCopyJSON(o.Object) // panics on a value that is not JSON
		if r, ok, _ := unstructured.NestedInt64(o.Object, "spec", "replicas"); !ok || r != 2 {
			t.Fatalf("%s: replicas %v, want int64 2", o.GetName(), o.Object["spec"])
		}
	}
	opts := kustomize.Options{Root: dir, Path: ".", CommonLabels: k.CommonLabels, CommonAnnotations: k.CommonAnnotations, Substitute: k.Substitute}
	build := testing.AllocsPerRun(2, func() {
		if _, err := kustomize.Build(ctx, opts); err != nil {
			t.Fatal(err)
		}
	})
	render := testing.AllocsPerRun(2, func() {
		if _, err := renderKustomization(ctx, k, dir, renderOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if render > build*1.02 {
		t.Errorf("renderKustomization allocates %.0f times, kustomize.Build %.0f: more than Build's work", render, build)
	}
}

// countingKube counts Prepare calls (renderApplied calls nothing else).
type countingKube struct {
	Kube
	prepared []string
}

func (k *countingKube) Prepare(_ context.Context, obj *unstructured.Unstructured, _ kube.Owner) (*meta.RESTMapping, error) {
	k.prepared = append(k.prepared, obj.GetName())
	return nil, errors.New("not served")
}

// TestRenderAppliedPreparesWantedOnly checks that a drift check prepares
// (labels and digests) only the objects it must compare, not every object
// of the block: with 50 edits in a block of 5,000 objects, preparing them
// all took a tenth of the check.
func TestRenderAppliedPreparesWantedOnly(t *testing.T) {
	dir := t.TempDir()
	var y strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cm-%d}\n", i, i)
	}
	for name, data := range map[string]string{"app/kustomization.yaml": "resources: [objects.yaml]\n", "app/objects.yaml": y.String()} {
		if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := &Engine{dir: dir, name: "s"}
	m := &countingKube{}
	wanted := map[objectName]bool{{"", "ConfigMap", "cm-3"}: true, {"apps", "Deployment", "cm-7"}: true, {"", "ConfigMap", "gone"}: true}
	objs, err := e.renderApplied(context.Background(), m, &config.Kustomization{Name: "app", Path: "app"}, "", wanted)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if d := cmp.Diff([]string{"ConfigMap/cm-3", "Deployment/cm-7"}, got); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"cm-3", "cm-7"}, m.prepared); d != "" {
		t.Errorf("prepared (-want +got):\n%s", d)
	}
}

// TestRenderCacheKeepsNoSecrets checks that plan and drift keep the render
// of a kustomization in the stack's render cache, except when a value of
// the block derives from a sensitive variable (a substitution, say) or the
// stack encrypts its state at rest: the cache is a plain file, and such
// values (or, with encryption, any object) never go to disk in clear.
func TestRenderCacheKeepsNoSecrets(t *testing.T) {
	for name, tc := range map[string]struct {
		sensitive []string
		encrypted bool
		kept      bool
	}{
		"plain":                  {kept: true},
		"sensitive substitution": {sensitive: []string{"substitute.token"}},
		"state encrypted":        {encrypted: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
				t.Fatal(err)
			}
			for p, data := range map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n",
				"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {token: \"${token}\"}\n"} {
				if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e := &Engine{dir: dir, name: "s", renderSecret: func() []byte { return []byte("a test secret of 32 bytes or so.") }}
			if tc.encrypted {
				key, err := EncryptionKey(&config.Encryption{Passphrase: config.NewSensitive("a long passphrase")})
				if err != nil {
					t.Fatal(err)
				}
				e.key = key
			}
			k := &config.Kustomization{Name: "app", Path: "app", Substitute: map[string]string{"token": "s3cr3t-value"}}
			k.SensitivePaths = tc.sensitive
			for i := 0; i < 2; i++ {
				objs, err := e.render(context.Background(), k, dir)
				if err != nil || len(objs) != 1 || objs[0].Object["data"].(map[string]any)["token"] != "s3cr3t-value" {
					t.Fatalf("render %d: %v, %v", i, objs, err)
				}
			}
			files, _ := filepath.Glob(filepath.Join(dir, RenderCacheDir, "*"))
			if kept := len(files) > 0; kept != tc.kept {
				t.Fatalf("render cache files %v, want kept %v", files, tc.kept)
			}
			for _, f := range files {
				if b, _ := os.ReadFile(f); !tc.kept && strings.Contains(string(b), "s3cr3t") {
					t.Errorf("%s holds the sensitive value", f)
				}
			}
		})
	}
}

// TestRenderCacheFollowsNoLinks checks that a render cache directory that
// is a symbolic link (committed in .strata by a pull request) is refused,
// and nothing is written where it leads.
func TestRenderCacheFollowsNoLinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".strata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, RenderCacheDir)); err != nil {
		t.Fatal(err)
	}
	e := &Engine{dir: dir, name: "s", renderSecret: func() []byte { return []byte("a test secret of 32 bytes or so.") }}
	_, err := e.render(context.Background(), &config.Kustomization{Name: "app", Path: "app"}, dir)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("render through a linked cache: %v, want a refusal", err)
	}
	if files, _ := os.ReadDir(outside); len(files) != 0 {
		t.Errorf("the render cache wrote %d files through the link", len(files))
	}
}
