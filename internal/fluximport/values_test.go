package fluximport

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// TestValuesAreExact evaluates the values HCL written for each release of
// the clean corpus and compares it, as JSON, with the HelmRelease's
// spec.values as the API server stores it (YAML converted to JSON):
// nested objects, lists, numbers, booleans, null, keys that are not
// identifiers and strings with template sequences, quotes and newlines.
func TestValuesAreExact(t *testing.T) {
	src, err := os.ReadFile("testdata/corpus/clean/releases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitDocuments("releases.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, d := range docs {
		values := mapping(mapping(d, "spec"), "values")
		if values == nil {
			continue
		}
		toks, err := valueTokens(values)
		if err != nil {
			t.Fatal(err)
		}
		expr, diags := hclsyntax.ParseExpression(toks.Bytes(), "values.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s\n%s", diags, toks.Bytes())
		}
		v, diags := expr.Value(nil)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		got, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			t.Fatal(err)
		}
		want, err := sigsyaml.YAMLToJSON([]byte(yamlText(values)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(decodeJSON(t, want), decodeJSON(t, got)); diff != "" {
			t.Errorf("values of %s (-want +got):\n%s\nHCL:\n%s", scalar(mapping(d, "metadata"), "name"), diff, toks.Bytes())
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no values checked")
	}
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestValuesAliases checks that an alias that contains itself, and aliases
// that expand beyond the bound, are refused instead of recursing forever.
func TestValuesAliases(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 0, "a"; i < 6; i++ {
		name := string(rune('b' + i))
		laughs += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	for name, tc := range map[string]struct{ doc, want string }{
		"recursive": {"v: &x\n  a: *x\n", "the YAML alias *x contains itself"},
		"laughs":    {laughs, "the values expand to more than"},
	} {
		t.Run(name, func(t *testing.T) {
			docs, err := splitDocuments("v.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = valueTokens(docs[0])
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
