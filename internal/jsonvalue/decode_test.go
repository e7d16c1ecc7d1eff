package jsonvalue

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestDecodeObjectMatchesUnstructured wants DecodeObject and
// Decoder.DecodeObject (keys shared among the inputs) to give what
// unstructured.Unstructured's UnmarshalJSON gives, value types included,
// for varied JSON (written by hand and by encoding/json from random
// values), and an error wherever that gives one.
func TestDecodeObjectMatchesUnstructured(t *testing.T) {
	inputs := []string{
		`{"kind":"K","apiVersion":"v1"}`,
		` { "kind" : "K" , "a" : [ 1 , 2 ] } `,
		`{"kind":"K","ints":[0,-0,1,-1,9223372036854775807,-9223372036854775808,9223372036854775808,-9223372036854775809,12345678901234567890]}`,
		`{"kind":"K","floats":[0.0,-0.5,1.5,1e5,1E5,1e+5,1e-5,-1.25e-7,1e21,2.5e300,123456789.123456789]}`,
		`{"kind":"K","lits":[true,false,null],"empty":{},"none":[],"nested":{"a":{"b":[[],{}]}}}`,
		`{"kind":"K","s":"a\"b\\c\/d\b\f\n\r\t\u0000\u001f\u003c\u003e\u0026\u2028\u2029\ud83d\ude00 é ü 日本"}`,
		`{"kind":"K","s":"\ud800 lone surrogate","t":"\udc00x"}`,
		`{"kind":"K","dup":1,"dup":2}`,
		`{"kind":"K","":"empty key","k\"q":"quoted key"}`,
		"{\"kind\":\"K\",\"bad\":\"\xff\xfe\"}",
		// Errors.
		``, `[]`, `"s"`, `1`, `{`, `{"kind":"K"`, `{"kind":"K",}`, `{"kind":"K"} x`, `{"kind":"K","a":[1,]}`,
		`{"kind":"K","a":01}`, `{"kind":"K","a":-}`, `{"kind":"K","a":1.}`, `{"kind":"K","a":.5}`, `{"kind":"K","a":1e}`,
		`{"kind":"K","a":+1}`, `{"kind":"K","a":1e400}`, `{"kind":"K","a":tru}`, `{"kind":"K","a":nul}`,
		"{\"kind\":\"K\",\"a\":\"tab\tin string\"}", `{"kind":"K","a":"\x"}`, `{"kind":"K","a":"\u12"}`, `{"kind":"K","a":"open}`,
		`{"kind":"K" "a":1}`, `{"kind" "K"}`, `{kind:"K"}`, `{"kind":"K","a":[1 2]}`,
	}
	// Keys seen before, plain and escaped, then again.
	inputs = append(inputs, `{"kind":"K","k\u00e9":1,"ké":2,"a\"b":3}`, `{"kind":"K","k\u00e9":1,"ké":2,"a\"b":3}`, `{"kind":"K","kind":"L"}`)
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		m := map[string]any{"kind": "K"}
		for j := r.Intn(6); j > 0; j-- {
			m[decodeInputString(r)] = decodeInputValue(r, 3)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	var dec Decoder // one for all the inputs, as a list's objects
	for i, in := range inputs {
		u := &unstructured.Unstructured{}
		wantErr := u.UnmarshalJSON([]byte(in))
		decode := DecodeObject
		if i%2 == 1 {
			decode = dec.DecodeObject
		}
		got, err := decode([]byte(in))
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%q: error %v, UnmarshalJSON's %v", in, err, wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if d := cmp.Diff(u.Object, got); d != "" {
			t.Errorf("%q (-UnmarshalJSON +DecodeObject):\n%s", in, d)
		}
		if fmt.Sprintf("%#v", u.Object) != fmt.Sprintf("%#v", got) {
			t.Errorf("%q: value types differ: %#v, UnmarshalJSON's %#v", in, got, u.Object)
		}
	}
}

// decodeInputValue returns a random JSON value of depth at most depth.
func decodeInputValue(r *rand.Rand, depth int) any {
	switch k := r.Intn(10); {
	case k == 0 && depth > 0:
		m := map[string]any{}
		for j := r.Intn(4); j > 0; j-- {
			m[decodeInputString(r)] = decodeInputValue(r, depth-1)
		}
		return m
	case k == 1 && depth > 0:
		l := []any{}
		for j := r.Intn(4); j > 0; j-- {
			l = append(l, decodeInputValue(r, depth-1))
		}
		return l
	case k == 2:
		return r.Int63() - r.Int63()
	case k == 3:
		return []any{math.MaxInt64, math.MinInt64, uint64(math.MaxUint64), 0}[r.Intn(4)]
	case k == 4:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.Intn(60)-30))
	case k == 5:
		return r.Intn(2) == 0
	case k == 6:
		return nil
	default:
		return decodeInputString(r)
	}
}

// decodeInputString returns a random string of ASCII, escapes, multi-byte
// characters and invalid UTF-8.
func decodeInputString(r *rand.Rand) string {
	parts := []string{"a", "Z", "9", " ", "\"", "\\", "/", "<", ">", "&", "\n", "\t", "\x00", "\x1f", "\u2028", "é", "日", "😀", "\xff", "\xc3", "${v}", "key: value"}
	var b strings.Builder
	for j := r.Intn(8); j > 0; j-- {
		b.WriteString(parts[r.Intn(len(parts))])
	}
	return b.String()
}
