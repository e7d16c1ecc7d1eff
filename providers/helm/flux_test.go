package helm

import (
	"testing"

	"helm.sh/helm/v3/pkg/release"
)

func TestFluxOwnerOf(t *testing.T) {
	manifest := "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  labels:\n    helm.toolkit.fluxcd.io/name: web\n    helm.toolkit.fluxcd.io/namespace: \"flux-system\"\n"
	tests := map[string]struct {
		rel  *release.Release
		want string
	}{
		"storage labels":      {&release.Release{Labels: map[string]string{"helm.toolkit.fluxcd.io/name": "a", "helm.toolkit.fluxcd.io/namespace": "b"}}, "HelmRelease b/a"},
		"post-renderer label": {&release.Release{Manifest: manifest}, "HelmRelease flux-system/web"},
		"not flux":            {&release.Release{Manifest: "kind: ConfigMap\nmetadata:\n  name: x\n"}, ""},
		"no release":          {nil, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if f := fluxOwnerOf(tt.rel); f != nil {
				got = f.String()
			}
			if got != tt.want {
				t.Errorf("fluxOwnerOf = %q, want %q", got, tt.want)
			}
		})
	}
}
