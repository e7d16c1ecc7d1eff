package planner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/ociregistry"
	"github.com/strata-gitops/strata/planner/plan"
)

const ociPassword = "oci-s3cret"

// ociStack serves a registry (basic auth) with the Flux artifact
// manifests/app:1.0.0, a ConfigMap "settings" in ns with color blue, and
// writes a stack that applies it from the highest 1.x tag. push pushes
// another version with another color and returns its manifest digest.
func ociStack(t *testing.T, ns string) (push func(tag, color string) string, dir string, opts func(*testcluster.Cluster) Options) {
	t.Helper()
	reg := ociregistry.New(t, ociregistry.Options{Username: "ci", Password: ociPassword})
	push = func(tag, color string) string {
		return reg.PushArtifact(t, "manifests/app", tag, ociregistry.Layer(t, ociregistry.Entry{Name: "deploy/cm.yaml",
			Body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  color: " + color + "\n"}))
	}
	dir = writeStack(t, map[string]string{"main.hcl": fmt.Sprintf(`source "oci" "manifests" {
  url        = %q
  semver     = "~> 1.0"
  plain_http = true
  auth {
    username = "ci"
    password = env("OCI_PASSWORD")
  }
}
kustomization "app" {
  source = source.oci.manifests
  path   = "deploy"
}
`, reg.URL("manifests/app"))})
	opts = func(c *testcluster.Cluster) Options {
		o := testOptions(c, dir)
		o.Getenv = func(k string) string {
			if k == "OCI_PASSWORD" {
				return ociPassword
			}
			return ""
		}
		return o
	}
	return push, dir, opts
}

// TestKustomizationFromOCI renders a kustomization from an OCI artifact in
// Flux's format: the plan names the tag and manifest digest, a newer tag
// matching the constraint shows as a revision move with the field change it
// brings, apply records the revision in state, and drift --sources compares
// the objects with the applied artifact and reports the tag that moved.
func TestKustomizationFromOCI(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "oci")
	push, _, opts := ociStack(t, ns)
	first := push("1.0.0", "blue")

	_, p := planStack(t, opts(c))
	want := plan.SourceChange{Address: "source.oci.manifests", Kind: "oci", URL: p.Sources[0].URL, Actions: plan.Actions{plan.Create}, After: "1.0.0@" + first}
	if d := cmp.Diff([]plan.SourceChange{want}, p.Sources); d != "" {
		t.Fatalf("sources (-want +got):\n%s", d)
	}
	if got := changed(p); len(got) != 1 || !strings.Contains(got[0], "ConfigMap/"+ns+"/settings") {
		t.Fatalf("changes %v, want the ConfigMap", got)
	}
	applyStack(t, opts(c))
	if _, p = planStack(t, opts(c)); p.HasChanges() {
		t.Fatalf("plan after apply has changes: %v %+v", changed(p), p.Sources)
	}

	second := push("1.1.0", "green")
	push("2.0.0", "red") // outside the constraint
	_, p = planStack(t, opts(c))
	s := p.Sources[0]
	if !s.Actions.Is(plan.Update) || s.Before != "1.0.0@"+first || s.After != "1.1.0@"+second {
		t.Fatalf("source change %+v, want 1.0.0@%s -> 1.1.0@%s", s, first, second)
	}
	if got := changed(p); len(got) != 1 || !strings.Contains(got[0], "ConfigMap/"+ns+"/settings") {
		t.Fatalf("changes %v, want the ConfigMap", got)
	}

	// Drift before the apply: the objects match the applied artifact (1.0.0),
	// the source moved on.
	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"color":"red"}}`)
	rep := checkDriftWith(t, opts(c), DriftOptions{Sources: true})
	if d := cmp.Diff([]string{
		"modified kustomization.app/ConfigMap/" + ns + "/settings data.color",
		"source source.oci.manifests revision",
	}, summary(rep)); d != "" {
		t.Fatalf("drift (-want +got):\n%s", d)
	}
	if f := rep.Block("kustomization.app").Items[0].Fields[0]; f.Applied != "blue" {
		t.Errorf("data.color applied %v, want blue (the applied artifact, not the newer tag)", f.Applied)
	}

	applyStack(t, opts(c))
	eng, p := planStack(t, opts(c))
	if p.HasChanges() {
		t.Fatalf("plan after the second apply has changes: %v %+v", changed(p), p.Sources)
	}
	st, _ := eng.Store()
	snap, err := st.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"source.oci.manifests", "kustomization.app"} {
		if b, ok := snap.Block(addr); !ok || b.Revision != "1.1.0@"+second {
			t.Errorf("state block %s revision %q, want 1.1.0@%s", addr, b.Revision, second)
		}
	}
}

// TestOCISourceErrors: a tag that does not exist, a digest the registry
// does not hold and a layer whose entries climb out are plan errors that
// name the source and the cause.
func TestOCISourceErrors(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "ocierr")
	reg := ociregistry.New(t, ociregistry.Options{})
	reg.PushArtifact(t, "manifests/bad", "escape", ociregistry.Layer(t, ociregistry.Entry{Name: "../../escape.yaml", Body: "x"}))
	reg.PushArtifact(t, "manifests/bad", "link", ociregistry.Layer(t, ociregistry.Entry{Name: "deploy/link", Link: "../../../etc/passwd"}))
	tests := map[string]struct{ ref, want string }{
		"missing tag":    {`tag = "9.9.9"`, "tag 9.9.9"},
		"wrong digest":   {`digest = "sha256:` + strings.Repeat("ab", 32) + `"`, "sha256:" + strings.Repeat("ab", 32)},
		"dot dot":        {`tag = "escape"`, `"../../escape.yaml"`},
		"link leads out": {`tag = "link"`, "symbolic link"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeStack(t, map[string]string{"main.hcl": fmt.Sprintf(`source "oci" "m" {
  url        = %q
  plain_http = true
  %s
}
kustomization "app" {
  source           = source.oci.m
  target_namespace = %q
}
`, reg.URL("manifests/bad"), tt.ref, ns)})
			e, diags := Load(testOptions(c, dir))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			defer e.Close()
			_, err := e.Plan(context.Background())
			if err == nil || !strings.Contains(err.Error(), "source.oci.m") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("plan error %v, want one naming source.oci.m and %q", err, tt.want)
			}
		})
	}
}
