package helm

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Values returns the merged user-supplied values the plan was made with (nil
// for a plan read back from JSON). They are unmasked: keep them out of
// anything shown to people.
func (p *ReleasePlan) Values() map[string]any { return p.values }

// ChartArchive returns ch as a chart archive (.tgz), as `helm package`
// writes it, so that a saved plan can carry exactly the chart it planned.
func ChartArchive(ch *chart.Chart) ([]byte, error) {
	dir, err := os.MkdirTemp("", "strata-chart-")
	if err != nil {
		return nil, fmt.Errorf("package chart: %w", err)
	}
	defer os.RemoveAll(dir)
	path, err := chartutil.Save(ch, dir)
	if err != nil {
		return nil, fmt.Errorf("package chart %s: %w", chartName(ch), err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("package chart %s: %w", chartName(ch), err)
	}
	return b, nil
}

// LoadChartArchive loads a chart from the bytes of a chart archive.
func LoadChartArchive(b []byte) (*chart.Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("load chart archive: %w", err)
	}
	return ch, nil
}

// Check reports whether Apply would refuse p: it returns an error wrapping
// ErrStalePlan, naming the release, when the release got another revision
// since p was made (an upgrade, rollback or uninstall by someone else),
// when an object p adopts was replaced or claimed by someone else since
// (ReleaseSpec.Adopted), or when the chart or values of p.Spec are not
// those planned. It changes nothing.
func (m *Manager) Check(ctx context.Context, p *ReleasePlan) error {
	cfg, err := m.readConfig(ctx, p.Namespace)
	if err != nil {
		return err
	}
	last, _, err := releases(cfg, p.Name)
	if err != nil {
		return err
	}
	rev := 0
	if last != nil {
		rev = last.Version
	}
	if rev != p.Revision {
		return fmt.Errorf("release %s/%s: revision %d, planned at %d: %w", p.Namespace, p.Name, rev, p.Revision, ErrStalePlan)
	}
	if p.Action != ActionInstall && p.Action != ActionUpgrade {
		return nil
	}
	if err := m.checkAdopted(ctx, p); err != nil {
		return err
	}
	ch, err := loadChart(p.Spec)
	if err != nil {
		return err
	}
	vals := p.values
	if vals == nil {
		if vals, err = MergeValues(p.Spec.ValuesFiles, p.Spec.ValuesFrom, p.Spec.Values); err != nil {
			return fmt.Errorf("release %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	return checkSpec(p, ch, vals)
}

// checkSpec refuses a chart or values other than those p was planned with.
func checkSpec(p *ReleasePlan, ch *chart.Chart, vals map[string]any) error {
	if d := ValuesDigest(vals); d != p.ValuesDigest.New {
		return fmt.Errorf("release %s/%s: values digest %s, planned %s: %w", p.Namespace, p.Name, d, p.ValuesDigest.New, ErrStalePlan)
	}
	if v, _ := chartVersion(ch); chartName(ch) != p.Chart.New || v != p.ChartVersion.New {
		return fmt.Errorf("release %s/%s: chart %s %s, planned %s %s: %w", p.Namespace, p.Name, chartName(ch), v, p.Chart.New, p.ChartVersion.New, ErrStalePlan)
	}
	return nil
}
