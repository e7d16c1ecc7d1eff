package plan

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const token = "tok-3nQ9xZ"

// leaks returns the forms of token found in v's JSON.
func leaks(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range []string{token, strings.ToUpper(token), base64.StdEncoding.EncodeToString([]byte(token))} {
		if strings.Contains(string(b), s) {
			out = append(out, s)
		}
	}
	return out
}

func deployment(env, label string) map[string]any {
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "labels": map[string]any{"team": label}},
		"spec": map[string]any{"replicas": int64(1), "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "web", "image": "nginx",
				"env": []any{map[string]any{"name": "PUBLIC", "value": "1"}, map[string]any{"name": "TOKEN", "value": env}}}}}}},
	}
}

func TestSecretsMaskChange(t *testing.T) {
	s := NewSecrets(token, strings.ToUpper(token))
	tests := map[string]struct {
		rc        ResourceChange
		sensitive []string // paths of the diff that must be Sensitive
		plain     []string // paths that keep their values
	}{
		"create": {
			rc: func() ResourceChange {
				after := deployment("prefix-"+token, strings.ToUpper(token))
				return ResourceChange{Actions: Actions{Create}, After: after, Diff: Diff(nil, after)}
			}(),
			sensitive: []string{"metadata.labels.team", "spec.template.spec.containers[0].env[1].value"},
			plain:     []string{"spec.template.spec.containers[0].env[0].value", "spec.template.spec.containers[0].image"},
		},
		"rotation shows neither the old nor the new value": {
			rc: ResourceChange{Actions: Actions{Update},
				Before: deployment("old-secret-value", "x"), After: deployment(token, "x"),
				Diff: []FieldDiff{{Path: "spec.template.spec.containers[name=web].env[name=TOKEN].value", Op: OpChange,
					Before: "old-secret-value", After: token}}},
			sensitive: []string{"spec.template.spec.containers[name=web].env[name=TOKEN].value"},
		},
		"a Secret's stringData added as a whole": {
			rc: ResourceChange{Actions: Actions{Update}, Reason: "immutable field changes",
				Diff: []FieldDiff{{Path: "stringData", Op: OpAdd, After: map[string]any{"password": SensitiveValue}},
					{Path: "metadata.labels.app", Op: OpAdd, After: "web"}}},
			sensitive: []string{"stringData"},
			plain:     []string{"metadata.labels.app"},
		},
		"a key set from a secret": {
			rc: ResourceChange{Actions: Actions{Update},
				Diff: []FieldDiff{{Path: `data["` + token + `"]`, Op: OpAdd, After: "v"}}},
			plain: []string{`data["(sensitive value)"]`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rc := tc.rc
			s.MaskChange(&rc)
			if l := leaks(t, rc); len(l) > 0 {
				t.Errorf("masked change still holds %v", l)
			}
			got := map[string]FieldDiff{}
			for _, f := range rc.Diff {
				got[f.Path] = f
			}
			for _, p := range tc.sensitive {
				if f, ok := got[p]; !ok || !f.Sensitive || f.Before != nil || f.After != nil {
					t.Errorf("%s: %+v, want Sensitive without values", p, f)
				}
			}
			for _, p := range tc.plain {
				if f := got[p]; f.Sensitive || f.After == nil {
					t.Errorf("%s: %+v, want its value", p, f)
				}
			}
		})
	}

	// Before is masked where After holds the secret, and only there.
	rc := ResourceChange{Before: deployment("old-secret-value", "x"), After: deployment(token, "x")}
	s.MaskChange(&rc)
	env := func(obj map[string]any) []any {
		c := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0]
		return c.(map[string]any)["env"].([]any)
	}
	want := []any{map[string]any{"name": "PUBLIC", "value": "1"}, map[string]any{"name": "TOKEN", "value": SensitiveValue}}
	if diff := cmp.Diff(want, env(rc.Before)); diff != "" {
		t.Errorf("Before env (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, env(rc.After)); diff != "" {
		t.Errorf("After env (-want +got):\n%s", diff)
	}
}

func TestSecretsScrub(t *testing.T) {
	s := NewSecrets(token, "ab")
	tests := map[string]struct{ in, want string }{
		"API server echo": {
			in:   `metadata.labels: Invalid value: "x-` + token + `": a valid label must be ...`,
			want: `metadata.labels: Invalid value: "x-(sensitive value)": a valid label must be ...`,
		},
		"base64 inside a longer encoded value": {
			in:   "data: " + base64.StdEncoding.EncodeToString([]byte("user:"+token+"@host")),
			want: "",
		},
		"Go escaped": {
			in:   fmt.Sprintf("%q", "line\n"+token),
			want: `"line\n(sensitive value)"`,
		},
		"short secret only when quoted": {
			in:   `Invalid value: "ab": about tabs`,
			want: `Invalid value: "(sensitive value)": about tabs`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := s.Scrub(tc.in)
			if strings.Contains(got, token) || strings.Contains(got, base64.StdEncoding.EncodeToString([]byte(token))[:8]) {
				t.Errorf("Scrub(%q) = %q, still holds the secret", tc.in, got)
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	for _, off := range []string{"", "a", "ab", "abc"} {
		enc := base64.StdEncoding.EncodeToString([]byte(off + token + "!"))
		if !s.Holds(enc) {
			t.Errorf("base64 of %q is not recognised", off+token+"!")
		}
	}
	base := errors.New("boom")
	err := s.ScrubError(fmt.Errorf("apply: %s: %w", token, base))
	if strings.Contains(err.Error(), token) || !errors.Is(err, base) {
		t.Errorf("ScrubError = %v (unwraps to base: %v)", err, errors.Is(err, base))
	}
	if got := (*Secrets)(nil).Scrub(token); got != token {
		t.Errorf("nil Secrets changed text: %q", got)
	}
}

// TestPlanSecrets checks that a saved plan finds its secrets again from
// the sensitive fields of its rendered objects, and only those.
// TestSecretsYAMLQuoted: a value with a single quote, which YAML doubles
// in its single-quoted style (Helm's toYaml of a string that needs
// quoting), is recognised in that form too.
func TestSecretsYAMLQuoted(t *testing.T) {
	s := NewSecrets("it's: Zq9x-pw")
	in := "password: 'it''s: Zq9x-pw'\n"
	if got, want := s.Scrub(in), "password: '(sensitive value)'\n"; got != want {
		t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
	}
	if !s.HoldsValue(map[string]any{"cfg.yaml": in}) {
		t.Error("HoldsValue does not find the YAML-quoted form")
	}
}

func TestPlanSecrets(t *testing.T) {
	s := NewSecrets(token)
	obj := deployment("prefix-"+token+"-suffix", "plain")
	fields := s.Locate(0, obj)
	want := []SensitiveField{{Object: 0, Pointer: "/spec/template/spec/containers/0/env/1/value", Spans: [][2]int{{7, 7 + len(token)}}}}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Fatalf("Locate (-want +got):\n%s", diff)
	}
	raw, _ := json.Marshal(obj)
	p := &Plan{Blocks: []Block{{Address: "kustomization.app", Objects: []json.RawMessage{raw}, Sensitive: fields}}}
	got, err := p.Secrets()
	if err != nil {
		t.Fatal(err)
	}
	if !got.Holds("x "+token+" y") || got.Holds("prefix-") || got.Holds("plain") {
		t.Errorf("Secrets of the plan: %+v", got)
	}
	p.Blocks[0].Sensitive[0].Object = 3
	if _, err := p.Secrets(); err == nil {
		t.Error("a field of a missing object was accepted")
	}
}

// TestLocateWithoutSecretsAllocatesNothing: the plan locates secrets in
// every rendered object; an object that holds none, nearly all of them,
// must cost no pointer per field.
func TestLocateWithoutSecretsAllocatesNothing(t *testing.T) {
	s := NewSecrets(token, "https://hooks.example.com/T000/B000")
	obj := any(deployment("plain", "web"))
	// Numbers are formatted to be searched: keep them out of the count.
	delete(obj.(map[string]any)["spec"].(map[string]any), "replicas")
	if n := testing.AllocsPerRun(10, func() { s.Locate(0, obj) }); n != 0 {
		t.Errorf("Locate of an object without secrets: %v allocations, want 0", n)
	}
	if got := s.Locate(3, deployment(token, "web")); len(got) != 1 || got[0].Pointer != "/spec/template/spec/containers/0/env/1/value" {
		t.Errorf("Locate of an object with the token = %+v", got)
	}
}
