// Package kustomizetest holds the trees the kustomize provider's tests
// build, for the tests of other packages (the plan of each must not depend
// on the diff mode).
package kustomizetest

import (
	"strings"

	"github.com/strata-gitops/strata/providers/kustomize"
)

// Deployment is a Deployment named web.
const Deployment = `apiVersion: apps/v1
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

// ConfigMap is a ConfigMap named settings whose data has variables to
// substitute: cluster_env, region (with a default) and an escaped one.
const ConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  env: ${cluster_env}
  region: ${region:=eu-west-1}
  literal: $${kept}
`

// Case is a tree, the options to build it with, and the objects expected:
// "Kind/namespace/name field=value" lines, sorted, for Fields (dot paths).
type Case struct {
	Files   map[string]string
	Options kustomize.Options
	Fields  []string
	Want    []string
}

// Corpus returns the trees of the kustomize provider's tests.
func Corpus() map[string]Case {
	return map[string]Case{
		"directory without kustomization is built from all its YAML like Flux": {
			Files: map[string]string{
				"apps/deploy.yaml":             Deployment,
				"apps/more/cm.yml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n",
				"apps/README.md":               "# not a manifest",
				"apps/notes.txt":               "apiVersion: v1",
				"apps/base/kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: base-\n",
				"apps/base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n",
				"apps/base/ignored.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: not-listed}\n",
			},
			Options: kustomize.Options{Path: "apps"},
			Want:    []string{"ConfigMap//base-two", "ConfigMap//one", "Deployment//web"},
		},
		"target namespace, prefix, suffix, images and common metadata": {
			Files: map[string]string{
				"kustomization.yaml": "resources: [deploy.yaml]\n",
				"deploy.yaml":        Deployment,
			},
			Options: kustomize.Options{
				TargetNamespace:   "team-a",
				NamePrefix:        "pre-",
				NameSuffix:        "-suf",
				Images:            []kustomize.Image{{Name: "nginx", NewTag: "1.27"}},
				CommonLabels:      map[string]string{"team": "a"},
				CommonAnnotations: map[string]string{"owner": "platform"},
			},
			Fields: []string{"metadata.labels", "metadata.annotations", "spec.template.spec.containers"},
			Want:   []string{"Deployment/team-a/pre-web-suf metadata.labels={app:web,team:a} metadata.annotations={owner:platform} spec.template.spec.containers=nginx:1.27"},
		},
		"strategic merge and JSON 6902 patches with target selectors": {
			Files: map[string]string{
				"deploy.yaml": Deployment,
				"cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {tier: x}}\ndata: {k: v}\n",
				"cm2.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: v}\n",
			},
			Options: kustomize.Options{Patches: []kustomize.Patch{
				{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n"},
				{Patch: "- op: replace\n  path: /data/k\n  value: patched\n", Target: &kustomize.Selector{Kind: "ConfigMap", LabelSelector: "tier=x"}},
				{Patch: "- op: add\n  path: /metadata/annotations\n  value: {all: \"1\"}\n", Target: &kustomize.Selector{Kind: "ConfigMap", Name: "a|b"}},
			}},
			Fields: []string{"spec.replicas", "data.k", "metadata.annotations"},
			Want: []string{
				"ConfigMap//a data.k=patched metadata.annotations={all:1}",
				"ConfigMap//b data.k=v metadata.annotations={all:1}",
				"Deployment//web spec.replicas=3",
			},
		},
		"substitution with defaults, escapes and the opt-out annotation": {
			Files: map[string]string{
				"cm.yaml": ConfigMap,
				"off.yaml": strings.Replace(strings.Replace(ConfigMap, "settings", "raw", 1), "metadata:\n",
					"metadata:\n  annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}\n", 1),
			},
			Options: kustomize.Options{Substitute: map[string]string{"cluster_env": "prod"}},
			Fields:  []string{"data"},
			Want: []string{
				"ConfigMap//raw data={env:${cluster_env},literal:$${kept},region:${region:=eu-west-1}}",
				"ConfigMap//settings data={env:prod,literal:${kept},region:eu-west-1}",
			},
		},
		"no substitution without variables, as in Flux": {
			Files:  map[string]string{"cm.yaml": ConfigMap},
			Fields: []string{"data.env"},
			Want:   []string{"ConfigMap//settings data.env=${cluster_env}"},
		},
		"a base in a sibling directory inside the tree is fine": {
			Files: map[string]string{
				"overlays/prod/kustomization.yaml": "resources: [../../base]\nnamespace: prod\n",
				"base/kustomization.yaml":          "resources: [deploy.yaml]\n",
				"base/deploy.yaml":                 Deployment,
			},
			Options: kustomize.Options{Path: "overlays/prod"},
			Want:    []string{"Deployment/prod/web"},
		},
	}
}
