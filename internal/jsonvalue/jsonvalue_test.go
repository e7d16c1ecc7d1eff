package jsonvalue

import (
	"encoding/json"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// TestMarshalMatchesEncodingJSON wants Marshal to give encoding/json's
// bytes (or an error where it gives one) for varied values: random trees
// of the types an object holds, numbers at the edges of the exponent
// form, every kind of string escape and invalid UTF-8, nil and empty maps
// and slices, and values of other types (encoded by encoding/json).
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, "", "plain", int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64),
		0.0, math.Copysign(0, -1), 1.5, -2.25, 1e-6, 9.99999e-7, 1e-7, 1.5e-10, 1e20, 1e21, 123456789e15, 1e300, -1e-300, 5e-324,
		math.MaxFloat64, 0.1, 1.0 / 3, 100.0, 1e6,
		math.Inf(1), math.NaN(),
		"\"\\/\b\f\n\r\t\x00\x01\x1f\x7f<>&'\u2028\u2029é日😀\xff\xc3(\xed\xa0\x80)",
		map[string]any(nil), map[string]any{}, []any(nil), []any{},
		map[string]any{"b": int64(1), "a": []any{"x", nil, map[string]any{"<k>": 2.5}}, "": "empty", "A": true},
		map[string]any{"inf": math.Inf(-1)},
		[]any{int64(1), math.NaN()},
		// Other types: encoding/json's encoding.
		3, uint64(math.MaxUint64), float32(0.1), []string{"a"}, map[string]string{"b": "1", "a": "2"},
		map[string]any{"typed": map[string]int{"x": 1}, "n": json.Number("12"), "raw": json.RawMessage(`{"z":1}`)},
		struct{ A int }{1},
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 500; i++ {
		values = append(values, randomValue(r, 4))
	}
	for _, v := range values {
		want, wantErr := json.Marshal(v)
		got, err := Marshal(v)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%#v: error %v, encoding/json's %v", v, err, wantErr)
			continue
		}
		if err == nil && string(got) != string(want) {
			t.Errorf("%#v:\n got %s\nwant %s", v, got, want)
		}
	}
}

// randomValue returns a random JSON value of depth at most depth.
func randomValue(r *rand.Rand, depth int) any {
	switch k := r.Intn(10); {
	case k <= 1 && depth > 0:
		m := map[string]any{}
		for j := r.Intn(5); j > 0; j-- {
			m[randomString(r)] = randomValue(r, depth-1)
		}
		return m
	case k == 2 && depth > 0:
		l := []any{}
		for j := r.Intn(4); j > 0; j-- {
			l = append(l, randomValue(r, depth-1))
		}
		return l
	case k == 3:
		return r.Int63() - r.Int63()
	case k == 4:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.Intn(60)-30))
	case k == 5:
		return float64(r.Intn(1000))
	case k == 6:
		return r.Intn(2) == 0
	case k == 7:
		return nil
	default:
		return randomString(r)
	}
}

// randomString returns a random string of ASCII, escapes, multi-byte
// characters and invalid UTF-8.
func randomString(r *rand.Rand) string {
	parts := []string{"a", "Z", "9", " ", "\"", "\\", "/", "<", ">", "&", "\n", "\t", "\b", "\f", "\r", "\x00", "\x1f", "\x7f",
		"\u2028", "\u2029", "é", "日", "😀", "\xff", "\xc3", "${v}", "key: value"}
	var b strings.Builder
	for j := r.Intn(8); j > 0; j-- {
		b.WriteString(parts[r.Intn(len(parts))])
	}
	return b.String()
}

// BenchmarkMarshal encodes an object of the kind a plan holds, with
// encoding/json and with Marshal.
func BenchmarkMarshal(b *testing.B) {
	obj := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "dep-1", "namespace": "ns", "labels": map[string]any{"app": "a1", "strata.dev/stack": "s", "strata.dev/block": "kustomization.k"},
			"annotations": map[string]any{"strata.dev/digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
		"spec": map[string]any{"replicas": int64(0), "selector": map[string]any{"matchLabels": map[string]any{"app": "a1"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "a1"}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx:1.27", "env": []any{map[string]any{"name": "INDEX", "value": "1"}}}}}}}}
	for name, marshal := range map[string]func(any) ([]byte, error){"encoding-json": json.Marshal, "jsonvalue": Marshal} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := marshal(obj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
