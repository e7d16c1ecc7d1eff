package kustomize_test

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/strata-gitops/strata/providers/kustomize"
	"github.com/strata-gitops/strata/providers/kustomize/kustomizetest"
)

// plainKinds are objects of varied kinds and scopes, for the generated
// trees: %[1]d is a number, %[2]s a namespace line (or "").
var plainKinds = []string{
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%[1]d\n%[2]sdata:\n  a: \"1\"\n  b: yes\n  c: 0755\n  d: 1e3\n  e: null\n  f: |\n    multi\n    line\n  'g': \"${v}\"\n",
	"apiVersion: v1\nkind: Service\nmetadata: {name: svc-%[1]d}\nspec: {ports: [{port: 80}]}\n",
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dep-%[1]d\n%[2]s  labels: &l {app: a%[1]d}\nspec:\n  replicas: 0\n  selector: {matchLabels: *l}\n  template:\n    metadata: {labels: *l}\n    spec: {containers: [{name: app, image: nginx:1.27}]}\n",
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-%[1]d}\n",
	"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr-%[1]d}\nrules: []\n",
	"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: role-%[1]d\n%[2]srules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]\n",
	"apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: vw-%[1]d}\nwebhooks: []\n",
	"apiVersion: example.com/v1\nkind: Namespace\nmetadata: {name: custom-ns-%[1]d}\n",
	"apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: w-%[1]d\n%[2]sspec: {size: 3, big: 12345678901234567890, ratio: 0.5, when: 2024-01-01}\n",
	"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s-%[1]d}\n  stringData: {k: v}\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: sa-%[1]d}\n",
	"# a comment\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets%[1]d.example.com}\nspec: {group: example.com}\n---\n",
}

// generatedTree returns a tree of n objects in nested directories, in a
// random order with random namespaces, each object in its own file or
// several in one.
func generatedTree(seed int64, n int) map[string]string {
	r := rand.New(rand.NewSource(seed))
	files := map[string]string{}
	dirs := []string{""}
	res := map[string][]string{}
	for i := 0; i < n; i++ {
		d := dirs[r.Intn(len(dirs))]
		if r.Intn(6) == 0 && strings.Count(d, "/") < 4 {
			sub := fmt.Sprintf("%sd%d/", d, i)
			res[d] = append(res[d], fmt.Sprintf("d%d", i))
			dirs = append(dirs, sub)
			d = sub
		}
		ns := ""
		switch r.Intn(4) {
		case 0:
			ns = fmt.Sprintf("  namespace: team-%d\n", r.Intn(3))
		case 1:
			ns = "  namespace: default\n"
		}
		f := fmt.Sprintf("o%d.yaml", i)
		if r.Intn(3) == 0 {
			f = "shared.yaml"
		}
		if _, ok := files[d+f]; !ok {
			res[d] = append(res[d], f)
		}
		files[d+f] += "---\n" + fmt.Sprintf(plainKinds[r.Intn(len(plainKinds))], i, ns)
	}
	names := []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}
	for _, d := range dirs {
		r.Shuffle(len(res[d]), func(i, j int) { res[d][i], res[d][j] = res[d][j], res[d][i] })
		head := ""
		if r.Intn(2) == 0 {
			head = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
		}
		files[d+names[r.Intn(len(names))]] = head + "resources:\n- " + strings.Join(res[d], "\n- ") + "\n"
	}
	return files
}

// TestPlainMatchesKustomize builds trees with the plain path and with
// kustomize and wants the same objects, byte for byte, or the same error:
// the corpus of TestBuild, generated plain trees (nested directories,
// namespaces, cluster-scoped kinds, lists, anchors, YAML 1.1 scalars, the
// three kustomization file names) with and without common labels and
// substitution, and trees the plain path must leave to kustomize.
func TestPlainMatchesKustomize(t *testing.T) {
	type tcase struct {
		files map[string]string
		opts  kustomize.Options
		plain bool // the plain path must take it
	}
	tests := map[string]tcase{}
	for name, tc := range kustomizetest.Corpus() {
		tests["corpus: "+name] = tcase{files: tc.Files, opts: tc.Options}
	}
	for seed := int64(1); seed <= 8; seed++ {
		files := generatedTree(seed, 20+int(seed)*15)
		tests[fmt.Sprintf("generated %d", seed)] = tcase{files: files, plain: true}
		tests[fmt.Sprintf("generated %d with labels and substitution", seed)] = tcase{files: files, plain: true, opts: kustomize.Options{
			CommonLabels: map[string]string{"team": "x"}, CommonAnnotations: map[string]string{"o": "p"},
			Substitute: map[string]string{"v": "1"},
		}}
	}
	one := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"
	for name, files := range map[string]map[string]string{
		"empty resources":         {"kustomization.yaml": "resources: []\n"},
		"same name in namespaces": {"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": one + "---\n" + strings.Replace(one, "one}", "one, namespace: x}", 1)},
		"merge keys and aliases": {"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": one + "base: &b {x: '1'}\ndata:\n  <<: *b\n  y: '2'\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\ndata: {cron: '*/5 * * * *', amp: 'a&b', \"<<\": q}\n"},
	} {
		tests[name] = tcase{files: files, plain: true}
	}
	for name, files := range map[string]map[string]string{
		"duplicate id":                    {"kustomization.yaml": "resources: [a.yaml, b.yaml]\n", "a.yaml": one, "b.yaml": one},
		"default and empty ns clash":      {"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": one + "---\n" + strings.Replace(one, "one}", "one, namespace: default}", 1)},
		"local config":                    {"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": strings.Replace(one, "one}", "one, annotations: {config.kubernetes.io/local-config: \"true\"}}", 1)},
		"namespace field":                 {"kustomization.yaml": "namespace: x\nresources: [a.yaml]\n", "a.yaml": one},
		"nested generator":                {"kustomization.yaml": "resources: [sub]\n", "sub/kustomization.yaml": "configMapGenerator: [{name: g, literals: [a=b]}]\n"},
		"directory twice":                 {"kustomization.yaml": "resources: [sub, sub]\n", "sub/kustomization.yaml": "resources: [a.yaml]\n", "sub/a.yaml": one},
		"cycle":                           {"kustomization.yaml": "resources: [sub]\n", "sub/kustomization.yaml": "resources: [..]\n"},
		"missing file":                    {"kustomization.yaml": "resources: [nope.yaml]\n"},
		"directory without kustomization": {"kustomization.yaml": "resources: [sub]\n", "sub/a.yaml": one},
		"two kustomization files":         {"kustomization.yaml": "resources: [a.yaml]\n", "kustomization.yml": "resources: []\n", "a.yaml": one},
		"component kind":                  {"kustomization.yaml": "resources: [sub]\n", "sub/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [a.yaml]\n", "sub/a.yaml": one},
		"object without name":             {"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"},
		"not YAML":                        {"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": "{{{"},
		"no kustomization":                {"a.yaml": one},
		"patches":                         {"kustomization.yaml": "resources: [a.yaml]\npatches: [{patch: '[{op: add, path: /data, value: {a: b}}]', target: {kind: ConfigMap}}]\n", "a.yaml": one},
	} {
		tests[name] = tcase{files: files}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.opts.Root = kustomize.WriteTree(t, tc.files)
			if tc.plain && !kustomize.PlainAccepts(t, tc.opts) {
				t.Fatal("the plain path refused the tree")
			}
			got, gotErr := kustomize.Build(context.Background(), tc.opts)
			full := tc.opts
			want, wantErr := kustomize.Build(context.Background(), kustomize.NoPlain(full))
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("error %v, kustomize's %v", gotErr, wantErr)
			}
			if g, w := manifests(t, got), manifests(t, want); g != w {
				t.Errorf("plain path:\n%s\nkustomize:\n%s", g, w)
			}
		})
	}
}

// manifests renders objects as YAML documents, in order.
func manifests(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	var b strings.Builder
	for _, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}

// trickyValues are YAML values whose reading could differ between a node
// decoded directly and the node written as YAML text and read back.
var trickyValues = []string{
	`"tab\there"`, `"trailing space "`, `"  leading"`, `"é ü 😀"`, `"\u0085 \u2028 \ufeff"`, `"a\r\nb"`,
	`"` + strings.Repeat("long words ", 30) + `"`, "|\n    line 1\n    line 2\n", "|-\n    no newline\n", "|+\n    kept\n\n",
	">\n    folded\n    text\n", `"1"`, `"true"`, `"null"`, `"~"`, `"0x1F"`, `"1_000"`, `".5"`, `"+1"`, `"0o17"`, `"1e3"`,
	`"Yes"`, `"on"`, `""`, `"a: b"`, `"a #b"`, `'single ''quoted'''`, "0x1F", "0o17", "017", "1_000", ".5", "+1", "-0",
	"1e3", "1E-7", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e400", ".inf", "-.inf",
	".nan", "!!binary aGVsbG8=", "!!str 123", `!!int "12"`, "!!float 1", "!foo bar", "!!null", "~", "null", "",
	"yes", "no", "on", "off", "y", "n", "2001-12-14t21:59:43.10-05:00", "2002-12-14", "{}", "[]", "[[1, 2], [a]]",
	"{1: a}", "{true: x}", "{a: {b: [c, {d: e}]}}", "[1.0, 2.50, -3.0e+2, 1e21, 123456789012345678901234567890]",
	"@reserved", "`backtick", "*alias", "&anchor value", "? complex\n  : key",
}

// TestObjectJSONMatchesKustomize wants objectJSON to give, byte for byte,
// the JSON (or the error) of kustomize's MarshalJSON for every object of
// the corpus, of the generated trees and of objects holding tricky values
// (anchors and merge keys among them).
func TestObjectJSONMatchesKustomize(t *testing.T) {
	trees := map[string]kustomize.Options{}
	for name, tc := range kustomizetest.Corpus() {
		tc.Options.Root = kustomize.WriteTree(t, tc.Files)
		trees["corpus: "+name] = tc.Options
	}
	for seed := int64(1); seed <= 8; seed++ {
		trees[fmt.Sprintf("generated %d", seed)] = kustomize.Options{Root: kustomize.WriteTree(t, generatedTree(seed, 60))}
	}
	for i, v := range trickyValues {
		doc := fmt.Sprintf("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w%d}\nbase: &b {x: 1, y: [a]}\nspec:\n  <<: *b\n  value: %s\n  list: [%d, *b]\n", i, v, i)
		trees[fmt.Sprintf("tricky %d: %s", i, v)] = kustomize.Options{Root: kustomize.WriteTree(t, map[string]string{
			"kustomization.yaml": "resources: [w.yaml]\n", "w.yaml": doc,
		})}
	}
	for name, opts := range trees {
		t.Run(name, func(t *testing.T) {
			fast, want := kustomize.ObjectJSONs(t, opts)
			if diff := cmp.Diff(want, fast); diff != "" {
				t.Errorf("objectJSON differs from kustomize's MarshalJSON (-kustomize +objectJSON):\n%s", diff)
			}
		})
	}
}
