package addrs_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/addrs"
)

func TestBlockRoundTrip(t *testing.T) {
	tests := map[string]addrs.Block{
		"source.git.platform":   {Kind: addrs.KindSource, Type: addrs.SourceGit, Name: "platform"},
		"source.helm.bitnami":   {Kind: addrs.KindSource, Type: addrs.SourceHelm, Name: "bitnami"},
		"source.oci.manifests":  {Kind: addrs.KindSource, Type: addrs.SourceOCI, Name: "manifests"},
		"kustomization.app":     {Kind: addrs.KindKustomization, Name: "app"},
		"release.strimzi":       {Kind: addrs.KindRelease, Name: "strimzi"},
		"release.with-dash_and": {Kind: addrs.KindRelease, Name: "with-dash_and"},
	}
	for s, want := range tests {
		t.Run(s, func(t *testing.T) {
			got, err := addrs.ParseBlock(s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseBlock(%q) (-want +got):\n%s", s, diff)
			}
			if got.String() != s {
				t.Errorf("String() = %q, want %q", got.String(), s)
			}
			j, err := json.Marshal(map[string]addrs.Block{"a": got})
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]addrs.Block
			if err := json.Unmarshal(j, &back); err != nil {
				t.Fatal(err)
			}
			if back["a"] != want {
				t.Errorf("JSON round trip of %s = %+v", j, back["a"])
			}
		})
	}
}

func TestParseBlockRefuses(t *testing.T) {
	for _, s := range []string{
		"", "kustomization", "kustomization.", "source.app", "source.s3.app", "source.git.a.b",
		"release.a.b", "widget.app", "kustomization.1app", "kustomization.app/ConfigMap/x",
	} {
		if a, err := addrs.ParseBlock(s); err == nil {
			t.Errorf("ParseBlock(%q) = %+v, want an error", s, a)
		}
	}
}

func TestBlockZeroAndOrder(t *testing.T) {
	var zero addrs.Block
	if !zero.IsZero() || zero.String() != "" {
		t.Errorf("zero block: IsZero %v, String %q", zero.IsZero(), zero.String())
	}
	a := addrs.Block{Kind: addrs.KindKustomization, Name: "a"}
	b := addrs.Block{Kind: addrs.KindRelease, Name: "a"}
	if !a.Less(b) || b.Less(a) {
		t.Errorf("Less: %s < %s should hold, not the reverse", a, b)
	}
}

func TestBlockType(t *testing.T) {
	tests := map[string]string{
		"source.git.platform": "source.git",
		"kustomization.app":   "kustomization",
		"release":             "",
		"":                    "",
	}
	for addr, want := range tests {
		if got := addrs.BlockType(addr); got != want {
			t.Errorf("BlockType(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestObjectRoundTrip(t *testing.T) {
	tests := map[string]struct {
		obj  addrs.Object
		want string
	}{
		"namespaced with group": {addrs.Object{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "api"}, "Deployment.apps/web/api"},
		"dotted group":          {addrs.Object{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"}, "ClusterRole.rbac.authorization.k8s.io/view"},
		"core cluster-scoped":   {addrs.Object{Kind: "Namespace", Name: "web"}, "Namespace/web"},
		"core namespaced":       {addrs.Object{Kind: "ConfigMap", Namespace: "a", Name: "b"}, "ConfigMap/a/b"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.obj.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			back, err := addrs.ParseObject(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.obj, back); diff != "" {
				t.Errorf("ParseObject(%q) (-want +got):\n%s", tc.want, diff)
			}

			full := tc.obj.Address("kustomization.app")
			if want := "kustomization.app/" + tc.want; full != want {
				t.Errorf("Address() = %q, want %q", full, want)
			}
			block, rest, ok := addrs.SplitObjectAddress(full)
			if !ok || block != "kustomization.app" || rest != tc.want {
				t.Errorf("SplitObjectAddress(%q) = %q, %q, %v", full, block, rest, ok)
			}
			block, o, err := addrs.ParseObjectAddress(full)
			if err != nil {
				t.Fatal(err)
			}
			if block != "kustomization.app" || o != tc.obj {
				t.Errorf("ParseObjectAddress(%q) = %q, %+v", full, block, o)
			}
		})
	}
}

func TestParseObjectRefuses(t *testing.T) {
	for _, s := range []string{"", "web", "/web", "Deployment/", "Deployment/a/b/c", ".apps/a/b"} {
		if o, err := addrs.ParseObject(s); err == nil {
			t.Errorf("ParseObject(%q) = %+v, want an error", s, o)
		}
	}
	for _, s := range []string{"kustomization.app", "/ConfigMap/a/b", "kustomization.app/ConfigMap"} {
		if _, o, err := addrs.ParseObjectAddress(s); err == nil {
			t.Errorf("ParseObjectAddress(%q) = %+v, want an error", s, o)
		}
	}
	if _, _, ok := addrs.SplitObjectAddress("kustomization.app"); ok {
		t.Error("SplitObjectAddress of a block address: ok = true")
	}
}

func TestGroupOf(t *testing.T) {
	tests := map[string]string{"apps/v1": "apps", "v1": "", "networking.k8s.io/v1": "networking.k8s.io", "": ""}
	for api, want := range tests {
		if got := addrs.GroupOf(api); got != want {
			t.Errorf("GroupOf(%q) = %q, want %q", api, got, want)
		}
	}
	if got := (addrs.Object{Kind: "Ingress", Group: addrs.GroupOf("networking.k8s.io/v1")}).KindGroup(); got != "Ingress.networking.k8s.io" {
		t.Errorf("KindGroup() = %q", got)
	}
}

// TestIsAddressMatchesAddress checks that IsAddress accepts exactly the
// address that Address builds.
func TestIsAddressMatchesAddress(t *testing.T) {
	objs := []addrs.Object{
		{Kind: "ConfigMap", Namespace: "web", Name: "settings"},
		{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "api"},
		{Kind: "Namespace", Name: "web"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		{Group: "g", Kind: "K", Namespace: "n", Name: ""},
	}
	blocks := []string{"kustomization.app", "release.x", ""}
	for _, o := range objs {
		for _, b := range blocks {
			addr := o.Address(b)
			if !o.IsAddress(b, addr) {
				t.Errorf("%+v.IsAddress(%q, %q) = false, want true", o, b, addr)
			}
			for _, other := range objs {
				for _, ob := range blocks {
					if a := other.Address(ob); a != addr && o.IsAddress(b, a) {
						t.Errorf("%+v.IsAddress(%q, %q) = true, want false", o, b, a)
					}
				}
			}
			for _, bad := range []string{addr + "x", addr[:len(addr)-1], "x" + addr, strings.Replace(addr, "/", ".", 1)} {
				if bad != addr && o.IsAddress(b, bad) {
					t.Errorf("%+v.IsAddress(%q, %q) = true, want false", o, b, bad)
				}
			}
		}
	}
}
