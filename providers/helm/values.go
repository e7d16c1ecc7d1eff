package helm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
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
		return nil, &ChartError{Err: fmt.Errorf("release %s/%s: load chart: %w", spec.Namespace, spec.Name, err)}
	}
	return ch, nil
}

// ValuesFileError is a values file of a release that cannot be read or
// does not parse: callers point at the release's values_files.
type ValuesFileError struct {
	// File is the path of the values file.
	File string
	Err  error
}

// Error returns "values file FILE: CAUSE".
func (e *ValuesFileError) Error() string { return fmt.Sprintf("values file %s: %v", e.File, e.Err) }

// Unwrap returns the cause.
func (e *ValuesFileError) Unwrap() error { return e.Err }

// ChartError is a chart that does not load, or does not render with the
// release's values: callers point at the release's chart.
type ChartError struct{ Err error }

// Error returns the cause's text.
func (e *ChartError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ChartError) Unwrap() error { return e.Err }

// ValuesLayer is values read from a Secret or ConfigMap (Flux's
// valuesFrom): Data is YAML values merged over what came before, or, with
// TargetPath, one value set at that path in Helm's --set syntax.
type ValuesLayer struct {
	// Source names the layer in errors, e.g. "Secret apps/db key values.yaml".
	Source     string
	Data       []byte
	TargetPath string
}

// MergeValues returns the user-supplied values of a release: the values
// files in order, then the layers read from the cluster in order, then the
// inline values, each merged over what came before as Helm merges -f files
// and --set (maps merge key by key, anything else replaces). A layer with a
// target path sets its whole data at that path as Flux's valuesFrom does:
// with strvals.ParseInto, or ParseIntoString when the data is quoted. The
// result is normalised through JSON, as Helm stores it.
func MergeValues(files []string, layers []ValuesLayer, inline map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return nil, &ValuesFileError{File: f, Err: err}
		}
		out = mergeMaps(out, v)
	}
	for _, l := range layers {
		var err error
		if out, err = mergeLayer(out, l); err != nil {
			return nil, err
		}
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

// mergeLayer merges the layer l over values.
func mergeLayer(values map[string]any, l ValuesLayer) (map[string]any, error) {
	if l.TargetPath == "" {
		v, err := chartutil.ReadValues(l.Data)
		if err != nil {
			return nil, fmt.Errorf("values from %s: %w", l.Source, err)
		}
		return mergeMaps(values, v), nil
	}
	value := string(l.Data)
	single := strings.HasPrefix(value, "'") && strings.HasSuffix(value, "'")
	double := strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`)
	var err error
	if single || double {
		err = strvals.ParseIntoString(l.TargetPath+"="+strings.Trim(value, `'"`), values)
	} else {
		err = strvals.ParseInto(l.TargetPath+"="+value, values)
	}
	if err != nil {
		// strvals quotes the text it failed on, which may be the secret.
		return nil, fmt.Errorf("values from %s: cannot set target path %s", l.Source, l.TargetPath)
	}
	return values, nil
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
