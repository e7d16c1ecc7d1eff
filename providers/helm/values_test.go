package helm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeValues(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := write("base.yaml", "image: {repo: nginx, tag: '1.0'}\nreplicas: 1\nlist: [a, b]\n")
	prod := write("prod.yaml", "image: {tag: '1.1'}\nlist: [c]\n")
	tests := map[string]struct {
		files  []string
		inline map[string]any
		want   map[string]any
	}{
		"nothing": {want: map[string]any{}},
		"files merge in order, maps key by key, lists replace": {
			files: []string{base, prod},
			want:  map[string]any{"image": map[string]any{"repo": "nginx", "tag": "1.1"}, "replicas": float64(1), "list": []any{"c"}},
		},
		"inline values win over files": {
			files:  []string{base, prod},
			inline: map[string]any{"image": map[string]any{"tag": "2.0"}, "replicas": 3},
			want:   map[string]any{"image": map[string]any{"repo": "nginx", "tag": "2.0"}, "replicas": float64(3), "list": []any{"c"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := MergeValues(tc.files, nil, tc.inline)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := MergeValues([]string{filepath.Join(dir, "missing.yaml")}, nil, nil); err == nil {
		t.Error("missing values file: no error")
	}
}

func TestValuesDigest(t *testing.T) {
	a := ValuesDigest(map[string]any{"a": 1, "b": map[string]any{"c": "x"}})
	b := ValuesDigest(map[string]any{"b": map[string]any{"c": "x"}, "a": float64(1)})
	if a != b {
		t.Errorf("same values, different digests: %s %s", a, b)
	}
	if ValuesDigest(nil) != ValuesDigest(map[string]any{}) {
		t.Error("nil and empty values differ")
	}
	if a == ValuesDigest(map[string]any{"a": 2, "b": map[string]any{"c": "x"}}) {
		t.Error("different values, same digest")
	}
}

// TestMergeValuesFrom checks the merge of values read from the cluster as
// Flux's valuesFrom: after the files, in order, before the inline values;
// a target path sets the data as one value with Helm's --set parser
// (typed), or as a string when the data is quoted.
func TestMergeValuesFrom(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	if err := os.WriteFile(base, []byte("db: {host: file, port: 1}\nreplicas: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		layers []ValuesLayer
		inline map[string]any
		want   map[string]any
	}{
		"layers merge over files in order": {
			layers: []ValuesLayer{
				{Data: []byte("db: {host: first, user: a}\n")},
				{Data: []byte("db: {host: second}\n")},
			},
			want: map[string]any{"db": map[string]any{"host": "second", "port": float64(1), "user": "a"}, "replicas": float64(1)},
		},
		"inline values win over layers": {
			layers: []ValuesLayer{{Data: []byte("replicas: 2\n")}},
			inline: map[string]any{"replicas": 3},
			want:   map[string]any{"db": map[string]any{"host": "file", "port": float64(1)}, "replicas": float64(3)},
		},
		"target path sets a typed value": {
			layers: []ValuesLayer{{Data: []byte("5432"), TargetPath: "db.port"}, {Data: []byte("true"), TargetPath: "tls.enabled"}},
			want: map[string]any{"db": map[string]any{"host": "file", "port": float64(5432)}, "replicas": float64(1),
				"tls": map[string]any{"enabled": true}},
		},
		"quoted data is a string": {
			layers: []ValuesLayer{{Data: []byte(`"5432"`), TargetPath: "db.port"}},
			want:   map[string]any{"db": map[string]any{"host": "file", "port": "5432"}, "replicas": float64(1)},
		},
		"target path with an index": {
			layers: []ValuesLayer{{Data: []byte("h1"), TargetPath: "hosts[0].name"}},
			want: map[string]any{"db": map[string]any{"host": "file", "port": float64(1)}, "replicas": float64(1),
				"hosts": []any{map[string]any{"name": "h1"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := MergeValues([]string{base}, tc.layers, tc.inline)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	_, err := MergeValues(nil, []ValuesLayer{{Source: "Secret ns/x key values.yaml", Data: []byte("a: [\n")}}, nil)
	if err == nil || !strings.Contains(err.Error(), "Secret ns/x key values.yaml") {
		t.Errorf("invalid YAML: error %v, want one naming the Secret", err)
	}
}
