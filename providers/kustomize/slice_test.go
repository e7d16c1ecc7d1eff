package kustomize

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestSliceFromBytesMatchesKustomize wants sliceFromBytes, which skips
// kyaml's de-anchoring where it changes nothing, to give what kustomize's
// SliceFromBytes gives, node for node (every field of every YAML node,
// positions and styles included) and JSON for JSON, or the same error, for
// documents with and without anchors, aliases, merge keys, repeated keys,
// lists, local configuration and empty items; and to skip the
// de-anchoring for plain documents.
func TestSliceFromBytesMatchesKustomize(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n  labels: {a: b}\ndata:\n  k: 'v'\n  n: \"1\"\n  m: |\n    multi\n    line\n"
	many := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: many}\ndata:\n"
	for i := range 40 {
		many += fmt.Sprintf("  k%d: v\n", i)
	}
	docs := map[string]string{
		"plain":                 fmt.Sprintf(cm, 1) + "---\n" + fmt.Sprintf(cm, 2),
		"comments":              "# head\napiVersion: v1 # line\nkind: ConfigMap\nmetadata: {name: c}\n# foot\n",
		"empty documents":       "---\n---\n" + fmt.Sprintf(cm, 1) + "---\n\n---\n",
		"anchor and alias":      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels: &l {app: a}\nspec:\n  selector: {matchLabels: *l}\n",
		"anchor only":           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: &d {a: b}\n",
		"merge key":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nbase: &b {x: '1'}\ndata:\n  <<: *b\n  y: '2'\n",
		"tagged merge":          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  !!merge <<: {x: '1'}\n",
		"quoted merge key":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  \"<<\": x\n  y: z\n",
		"repeated key":          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: '1'\n  a: '2'\n",
		"repeated key, many":    many + "  k7: again\n",
		"many keys":             many,
		"complex keys":          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nodd:\n  ? [a]\n  : 1\n  ? [b]\n  : 2\n",
		"list kind":             "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n",
		"ConfigMapList":         "apiVersion: v1\nkind: ConfigMapList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n",
		"local config":          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {config.kubernetes.io/local-config: 'true'}\n",
		"local config false":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {config.kubernetes.io/local-config: 'false'}\n",
		"other annotations":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {a: b}\n",
		"empty item":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nlist: [a, ~, b]\n",
		"null item":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nlist:\n- a\n-\n",
		"no kind":               "apiVersion: v1\nmetadata: {name: c}\n",
		"no metadata":           "apiVersion: v1\nkind: ConfigMap\n",
		"not YAML":              "{{{",
		"scalar document":       "just text\n",
		"alias of an anchor":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\na: &x 1\nb: *x\n",
		"anchor in later doc":   fmt.Sprintf(cm, 1) + "---\n" + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: &d {a: b}\nother: *d\n",
		"tags and styles":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: !!str 1, b: \"x\", c: 'y', d: >\n    folded\n  }\n",
		"strings that look odd": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {cron: '*/5 * * * *', amp: 'a&b', star: \"*\"}\n",
	}
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			got, gotErr := sliceFromBytes(rf, []byte(doc))
			want, wantErr := rf.SliceFromBytes([]byte(doc))
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("error %v, kustomize's %v", gotErr, wantErr)
			}
			if len(got) != len(want) {
				t.Fatalf("%d resources, kustomize %d", len(got), len(want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i].RNode.YNode(), want[i].RNode.YNode()) {
					t.Errorf("resource %d: the YAML nodes differ:\n%s\nkustomize:\n%s", i, got[i].MustYaml(), want[i].MustYaml())
				}
				gj, gerr := got[i].MarshalJSON()
				wj, werr := want[i].MarshalJSON()
				if string(gj) != string(wj) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
					t.Errorf("resource %d: JSON %s (%v), kustomize's %s (%v)", i, gj, gerr, wj, werr)
				}
				if !reflect.DeepEqual(got[i].GetAnnotations(), want[i].GetAnnotations()) {
					t.Errorf("resource %d: annotations %v, kustomize's %v", i, got[i].GetAnnotations(), want[i].GetAnnotations())
				}
			}
		})
	}
	for _, name := range []string{"plain", "comments", "many keys", "other annotations", "strings that look odd"} {
		for _, doc := range strings.Split(docs[name], "---\n") {
			nodes, err := kioRead(doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range nodes {
				if needsDeAnchor(n.YNode()) {
					t.Errorf("%s: needsDeAnchor of a plain document", name)
				}
			}
		}
	}
}

func kioRead(doc string) ([]*kyaml.RNode, error) {
	return (&kio.ByteReader{OmitReaderAnnotations: true, Reader: strings.NewReader(doc)}).Read()
}
