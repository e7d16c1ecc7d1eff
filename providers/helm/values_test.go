package helm

import (
	"os"
	"path/filepath"
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
			got, err := MergeValues(tc.files, tc.inline)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := MergeValues([]string{filepath.Join(dir, "missing.yaml")}, nil); err == nil {
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
