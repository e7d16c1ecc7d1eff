package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

const redacted = "(sensitive value)"

// Sensitive is a secret string. It prints as "(sensitive value)" with every
// fmt verb, in JSON and as text; Reveal returns the value. The zero value is
// the empty secret.
type Sensitive struct {
	v string
}

// NewSensitive wraps a secret.
func NewSensitive(v string) Sensitive { return Sensitive{v: v} }

// Reveal returns the secret. Call it only where the value is used, never to
// print it.
func (s Sensitive) Reveal() string { return s.v }

// IsEmpty reports whether the secret is the empty string.
func (s Sensitive) IsEmpty() bool { return s.v == "" }

// String returns "(sensitive value)", or "" for the empty secret.
func (s Sensitive) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString returns a redacted Go syntax form.
func (s Sensitive) GoString() string { return "config.Sensitive{" + strconv.Quote(s.String()) + "}" }

// Format prints the redacted form with every verb.
func (s Sensitive) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprint(f, strconv.Quote(s.String()))
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// MarshalJSON encodes the redacted form.
func (s Sensitive) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText encodes the redacted form.
func (s Sensitive) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// redact returns a deep copy of v (JSON-able data at path) with the paths
// that meta lists as sensitive replaced by "(sensitive value)".
func redact(v any, path string, m *Meta) any {
	if !m.IsSensitive(path) {
		return v
	}
	for _, p := range m.SensitivePaths {
		if p == path {
			return redacted
		}
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out[k] = redact(t[k], path+"."+k, m)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = redact(e, path+"["+strconv.Itoa(i)+"]", m)
		}
		return out
	}
	return redacted
}

// MarshalJSON encodes the kustomization with sensitive substitutions
// redacted, so that dumping a stack never prints a secret.
func (k Kustomization) MarshalJSON() ([]byte, error) {
	type plain Kustomization
	c := plain(k)
	c.Substitute = k.RedactedSubstitute()
	return marshalRedacted(c, k.SensitiveValues)
}

// MarshalJSON encodes the release with sensitive values redacted, so that
// dumping a stack never prints a secret. Marshal r.Values itself to pass
// the values on.
func (r Release) MarshalJSON() ([]byte, error) {
	type plain Release
	c := plain(r)
	c.Values = r.RedactedValues()
	return marshalRedacted(c, r.SensitiveValues)
}

// marshalRedacted encodes v with every string that holds one of secrets
// (labels, annotations, patches, ... set from a sensitive value) replaced
// by "(sensitive value)".
func marshalRedacted(v any, secrets []Sensitive) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(secrets) == 0 {
		return b, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return json.Marshal(redactStrings(tree, secrets))
}

// redactStrings replaces, in decoded JSON, every string (map keys
// included) that holds one of secrets.
func redactStrings(v any, secrets []Sensitive) any {
	holds := func(s string) bool {
		for _, sec := range secrets {
			if !sec.IsEmpty() && strings.Contains(s, sec.Reveal()) {
				return true
			}
		}
		return false
	}
	switch t := v.(type) {
	case string:
		if holds(t) {
			return redacted
		}
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if holds(k) {
				k = redacted
			}
			out[k] = redactStrings(e, secrets)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = redactStrings(e, secrets)
		}
		return out
	}
	return v
}
