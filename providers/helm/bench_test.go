package helm_test

import (
	"context"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/strata-gitops/strata/providers/helm"
)

// bulkChart renders n ConfigMaps and n/5 Deployments.
func bulkChart(n int) *chart.Chart {
	cms := `{{- range $i := until (int .Values.n) }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{{ $i }}
data:
  index: {{ $i | quote }}
{{- end }}
`
	deps := `{{- range $i := until (div (int .Values.n) 5 | int) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{{ $i }}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-{{ $i }}}}
  template:
    metadata: {labels: {app: web-{{ $i }}}}
    spec:
      containers: [{name: app, image: "nginx:1.0"}]
{{- end }}
`
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "bulk", Version: "1.0.0"},
		Values:   map[string]any{"n": n},
		Raw:      []*chart.File{{Name: "values.yaml", Data: []byte("n: 1\n")}},
		Templates: []*chart.File{
			{Name: "templates/configmaps.yaml", Data: []byte(cms)},
			{Name: "templates/deployments.yaml", Data: []byte(deps)},
		},
	}
}

// BenchmarkPlanNoChange measures a plan of an installed, unchanged release
// of 120 objects (render, release read, a dry run per object) side by side
// with the Helm CLI's nearest equivalent, `helm upgrade --dry-run=server`,
// which renders and reads the release but computes no diff.
func BenchmarkPlanNoChange(b *testing.B) {
	m, c := newManager(b)
	ns := c.Namespace(b, "helm-bench")
	ch := bulkChart(100)
	spec := helm.ReleaseSpec{Name: "bulk", Namespace: ns, Chart: ch, Values: map[string]any{"n": 100}, Timeout: 5 * time.Minute}
	apply(b, m, plan(b, m, spec))
	path, err := chartutil.Save(ch, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	h := helmCLI(b, c)

	b.Run("strata", func(b *testing.B) {
		for b.Loop() {
			p, err := m.Plan(context.Background(), spec)
			if err != nil {
				b.Fatal(err)
			}
			if p.Action != helm.ActionNoop {
				b.Fatalf("plan: %s (%s)", p.Action, p.Reason)
			}
		}
	})
	b.Run("helm-upgrade-dry-run-server", func(b *testing.B) {
		for b.Loop() {
			h("upgrade", "bulk", path, "-n", ns, "--set", "n=100", "--dry-run=server")
		}
	})
}
