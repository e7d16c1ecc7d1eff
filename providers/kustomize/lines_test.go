package kustomize

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLines checks the line Lines names for an object of a file: the
// line where its document's content starts, past comments and "---";
// the only document of its kind for a name a namePrefix changed (none
// when the kind is not alone); the entry of a kustomization file's
// generator, whatever the hash; of one kind and name in several
// namespaces, the object's; an item of a List (in a List too) in any
// document.
func TestLines(t *testing.T) {
	multi := `# Settings of the app.
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---

# b comes second.
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: demo}
data:
  k: v
---
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
`
	kustomization := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [cm.yaml]
configMapGenerator:
- name: settings
  literals: [a=b]
- name: other
  files: [x.txt]
secretGenerator:
- literals: [p=q]
  name: creds
`
	sops := `apiVersion: ENC[AES256_GCM,data:3A==,iv:x,tag:y,type:str]
kind: ENC[AES256_GCM,data:3B==,iv:x,tag:y,type:str]
metadata:
    name: ENC[AES256_GCM,data:3C==,iv:x,tag:y,type:str]
sops:
    version: 3.9.0
`
	namespaces := `apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: one}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: two}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
`
	list := `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: l1}
- apiVersion: v1
  kind: Secret
  metadata:
    name: l2
    namespace: two
- apiVersion: v1
  kind: ServiceList
  items:
  - {apiVersion: v1, kind: Service, metadata: {name: s}}
`
	tests := map[string]struct {
		file           string
		kind, ns, name string
		want           int
	}{
		"first document after a comment and ---": {multi, "ConfigMap", "", "a", 3},
		"after a blank line and a comment":       {multi, "ConfigMap", "", "b", 10},
		"after an empty document":                {multi, "Deployment", "", "web", 17},
		"prefixed, the only one of its kind":     {multi, "Deployment", "", "dev-web", 17},
		"prefixed, not the only one of its kind": {multi, "ConfigMap", "", "dev-a", 0},
		"a kind the file does not declare":       {multi, "Service", "", "a", 0},
		"generator entry with its hash":          {kustomization, "ConfigMap", "", "settings-7c9h2m5d4t", 5},
		"second generator entry":                 {kustomization, "ConfigMap", "", "other-b7tkh2f9g4", 7},
		"generator entry without hash":           {kustomization, "ConfigMap", "", "other", 7},
		"generator entry, name not first":        {kustomization, "Secret", "", "creds-5f7m6h8g2b", 10},
		"prefixed, the only Secret generator":    {kustomization, "Secret", "", "dev-creds-5f7m6h8g2b", 10},
		"prefixed, two ConfigMap generators":     {kustomization, "ConfigMap", "", "dev-settings-7c9h2m5d4t", 0},
		"the kustomization is not an object":     {kustomization, "Kustomization", "", "", 0},
		"encrypted kind: the only document":      {sops, "Secret", "", "db", 1},
		"not YAML":                               {"a: [b\n", "ConfigMap", "", "a", 0},
		"empty":                                  {"", "ConfigMap", "", "a", 0},
		"same name, the second namespace":        {namespaces, "ConfigMap", "two", "a", 5},
		"same name, the first namespace":         {namespaces, "ConfigMap", "one", "a", 1},
		"same name, the one without namespace":   {namespaces, "ConfigMap", "default", "a", 9},
		"List item in the second document":       {list, "ConfigMap", "default", "l1", 8},
		"List item with a namespace":             {list, "Secret", "two", "l2", 11},
		"item of a List in a List":               {list, "Service", "default", "s", 19},
		"the List itself is no object":           {list, "List", "", "", 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ParseLines([]byte(tc.file)).Line(tc.kind, tc.ns, tc.name); got != tc.want {
				t.Errorf("Line(%s, %s, %s) = %d, want %d", tc.kind, tc.ns, tc.name, got, tc.want)
			}
		})
	}
}

// TestReadLines reads a file of a tree, and nothing outside it.
func TestReadLines(t *testing.T) {
	root := writeTree(t, map[string]string{
		"app/cm.yaml": "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
	})
	outside := filepath.Join(t.TempDir(), "cm.yaml")
	if err := os.WriteFile(outside, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "app", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"app/cm.yaml": 2, "app/link.yaml": 0, "../cm.yaml": 0, "app/missing.yaml": 0} {
		if got := ReadLines(root, name).Line("ConfigMap", "", "a"); got != want {
			t.Errorf("ReadLines(%s).Line = %d, want %d", name, got, want)
		}
	}
}
