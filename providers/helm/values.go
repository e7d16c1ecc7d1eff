package helm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// loadChart returns the spec's chart, loading ChartPath when Chart is nil.
func loadChart(spec ReleaseSpec) (*chart.Chart, error) {
	if spec.Chart != nil {
		return spec.Chart, nil
	}
	if spec.ChartPath == "" {
		return nil, fmt.Errorf("release %s/%s: no chart", spec.Namespace, spec.Name)
	}
	ch, err := loader.Load(spec.ChartPath)
	if err != nil {
		return nil, fmt.Errorf("release %s/%s: load chart: %w", spec.Namespace, spec.Name, err)
	}
	return ch, nil
}

// MergeValues returns the user-supplied values of a release: the values
// files in order, then the inline values, each merged over what came before
// as Helm merges -f files and --set (maps merge key by key, anything else
// replaces). The result is normalised through JSON, as Helm stores it.
func MergeValues(files []string, inline map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		out = mergeMaps(out, v)
	}
	out = mergeMaps(out, inline)
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	var norm map[string]any
	if err := json.Unmarshal(b, &norm); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	return norm, nil
}

// mergeMaps merges b over a, recursively for maps (Helm's -f/--set order).
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// ValuesDigest returns "sha256:<hex>" of the canonical JSON of values; nil
// and empty values have the same digest. The digest reveals no value.
func ValuesDigest(values map[string]any) string {
	if values == nil {
		values = map[string]any{}
	}
	// encoding/json sorts map keys: the encoding is canonical.
	b, err := json.Marshal(values)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
