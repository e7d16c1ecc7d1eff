package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/ociregistry"
)

// TestFluxAdoptCLI: plan shows an object kustomize-controller applied as
// adopted from Flux and lists the active Flux Kustomization; apply refuses
// with exit 1 naming --allow-flux-managed, which then applies.
func TestFluxAdoptCLI(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "cliflux")
	tmp := t.TempDir()
	crds := filepath.Join(tmp, "crds.yaml")
	if err := os.WriteFile(crds, []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: kustomizations.kustomize.toolkit.fluxcd.io}
spec:
  group: kustomize.toolkit.fluxcd.io
  names: {kind: Kustomization, listKind: KustomizationList, plural: kustomizations, singular: kustomization}
  scope: Namespaced
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The CRD's name is fixed and shared with other tests: created if
	// missing, never deleted.
	c.Kubectl(t, "apply", "--server-side", "--field-manager=strata-test-flux-crds", "-f", crds)
	c.Kubectl(t, "wait", "--for=condition=Established", "--timeout=60s", "crd/kustomizations.kustomize.toolkit.fluxcd.io")
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  k: v\n"
	flux := filepath.Join(tmp, "flux.yaml")
	if err := os.WriteFile(flux, []byte(strings.Replace(cm, "  namespace: "+ns+"\n", "  namespace: "+ns+
		"\n  labels:\n    kustomize.toolkit.fluxcd.io/name: apps\n    kustomize.toolkit.fluxcd.io/namespace: "+ns+"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, "apply", "--server-side", "--field-manager=kustomize-controller", "-f", flux)
	ks := filepath.Join(tmp, "ks.yaml")
	if err := os.WriteFile(ks, []byte(fmt.Sprintf("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: %s}\nspec: {interval: 10m}\n", ns)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, "apply", "-f", ks)

	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("cliflux"))
	writeFiles(t, dir, map[string]string{"main.hcl": "kustomization \"app\" {\n  path = \"app\"\n}\n", "app/cm.yaml": cm})
	kc := "--kubeconfig=" + c.Kubeconfig()
	addr := "kustomization.app/ConfigMap/" + ns + "/settings"
	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	if code != 0 || !strings.Contains(stdout, "# "+addr+" will be adopted from Flux") ||
		!strings.Contains(stdout, "Kustomization "+ns+"/apps: still reconciling") {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve")
	if code != 1 || !strings.Contains(stderr, "--allow-flux-managed") {
		t.Fatalf("apply: exit %d, want 1 naming --allow-flux-managed\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve", "--allow-flux-managed")
	if code != 0 || !strings.Contains(stdout, "Apply complete!") {
		t.Fatalf("apply --allow-flux-managed: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestOCISourceCLIErrors: an OCI source whose tag does not exist, or
// whose layer climbs out of its tree, fails the plan with exit 1 and a
// message naming the source and the cause.
func TestOCISourceCLIErrors(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "clioci")
	reg := ociregistry.New(t, ociregistry.Options{})
	reg.PushArtifact(t, "manifests", "escape", ociregistry.Layer(t, ociregistry.Entry{Name: "../x.yaml", Body: "x"}))
	for ref, want := range map[string]string{`tag = "nope"`: "tag nope", `tag = "escape"`: `"../x.yaml"`} {
		dir := filepath.Join(t.TempDir(), testcluster.UniqueName("clioci"))
		writeFiles(t, dir, map[string]string{"main.hcl": fmt.Sprintf("source \"oci\" \"m\" {\n  url = %q\n  plain_http = true\n  %s\n}\n"+
			"kustomization \"app\" {\n  source = source.oci.m\n  target_namespace = %q\n}\n", reg.URL("manifests"), ref, ns)})
		code, stdout, stderr := runCLI(t, "plan", dir, "--kubeconfig="+c.Kubeconfig())
		if code != 1 || !strings.Contains(stderr, "source.oci.m") || !strings.Contains(stderr, want) {
			t.Errorf("plan with %s: exit %d, want 1 naming source.oci.m and %q\n%s%s", ref, code, want, stdout, stderr)
		}
	}
}
