package view

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/notify"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/state"
)

// TestJSONDocsNameEveryField keeps the reference pages of strata's JSON
// outputs complete: every field name of a document (the json tags of its
// types, nested ones included) is named on its page, as `name` or "name".
// A field added to an output without its documentation fails here.
func TestJSONDocsNameEveryField(t *testing.T) {
	for _, c := range []struct {
		doc  string
		what string
		typ  reflect.Type
	}{
		{"plan-json.md", "strata plan -o json", reflect.TypeFor[JSONPlan]()},
		{"plan-json.md", "strata plan --all-environments -o json", reflect.TypeFor[EnvironmentJSON]()},
		{"state-json.md", "strata state pull", reflect.TypeFor[state.Document]()},
		{"drift.md", "strata drift -o json", reflect.TypeFor[drift.Report]()},
		{"drift.md", "strata status -o json", reflect.TypeFor[planner.BlockStatus]()},
		{"drift.md", "a webhook notification", reflect.TypeFor[notify.Event]()},
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", c.doc))
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		for _, name := range jsonNames(c.typ) {
			if !strings.Contains(doc, "`"+name+"`") && !strings.Contains(doc, `"`+name+`"`) {
				t.Errorf("docs/%s does not describe the field %q of %s", c.doc, name, c.what)
			}
		}
	}
}

// jsonNames returns the JSON field names of t and of the structs it holds
// (through pointers, slices and maps), sorted.
func jsonNames(t reflect.Type) []string {
	seen := map[reflect.Type]bool{}
	names := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[json.RawMessage]() {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				walk(f.Type) // its fields are the struct's own
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			names[name] = true
			walk(f.Type)
		}
	}
	walk(t)
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
