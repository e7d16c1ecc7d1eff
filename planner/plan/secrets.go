package plan

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// minNeedle is the length from which a secret is searched inside longer
// text; a shorter one would blank out ordinary words, so it is matched as
// a whole value, or quoted in error texts.
const minNeedle = 4

// Secrets is a set of sensitive strings, with the forms they take in
// rendered objects and error texts, to keep out of everything strata
// shows: for each value, the value itself, its JSON, Go and YAML
// (single-quoted) escaped forms, and its base64 encoding (as a Secret's
// data and Helm's b64enc write it), also inside a longer encoded string. A nil *Secrets holds none. It is
// safe for concurrent use once built.
type Secrets struct {
	long  []string // searched inside text, longest first
	short []string // matched as whole values
}

// NewSecrets returns the set of values and their encodings; empty values
// are ignored.
func NewSecrets(values ...string) *Secrets {
	s := &Secrets{}
	s.Add(values...)
	return s
}

// Add adds values and their encodings to the set.
func (s *Secrets) Add(values ...string) {
	for _, v := range values {
		if v == "" {
			continue
		}
		for _, n := range encodings(v) {
			switch {
			case len(n) < minNeedle:
				s.short = appendNew(s.short, n)
			default:
				s.long = appendNew(s.long, n)
			}
		}
	}
	sort.SliceStable(s.long, func(i, j int) bool { return len(s.long[i]) > len(s.long[j]) })
}

// Merge adds the secrets of o to the set.
func (s *Secrets) Merge(o *Secrets) {
	if o == nil {
		return
	}
	for _, n := range o.long {
		s.long = appendNew(s.long, n)
	}
	for _, n := range o.short {
		s.short = appendNew(s.short, n)
	}
	sort.SliceStable(s.long, func(i, j int) bool { return len(s.long[i]) > len(s.long[j]) })
}

func appendNew(list []string, v string) []string {
	for _, e := range list {
		if e == v {
			return list
		}
	}
	return append(list, v)
}

// encodings returns v and the forms it takes in objects and texts.
func encodings(v string) []string {
	out := []string{v}
	if q := strconv.Quote(v); q[1:len(q)-1] != v {
		out = append(out, q[1:len(q)-1])
	}
	if b, err := json.Marshal(v); err == nil && string(b[1:len(b)-1]) != v {
		out = append(out, string(b[1:len(b)-1]))
	}
	if strings.Contains(v, "'") {
		// YAML's single-quoted style, which Helm's toYaml uses for a
		// string that needs quoting ("it's: x" becomes 'it''s: x').
		out = append(out, strings.ReplaceAll(v, "'", "''"))
	}
	out = append(out, base64.StdEncoding.EncodeToString([]byte(v)))
	if len(v) < minNeedle {
		return out
	}
	// Inside a longer encoded string, v starts at any of three byte
	// offsets; the characters that only v's bits decide are the same
	// whatever surrounds it.
	for k := 0; k < 3; k++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), v...))
		start, end := (8*k+5)/6, 8*(k+len(v))/6
		if end-start >= minNeedle {
			out = append(out, enc[start:end])
		}
	}
	return out
}

// Empty reports whether the set holds no secret.
func (s *Secrets) Empty() bool { return s == nil || len(s.long)+len(s.short) == 0 }

// Holds reports whether text holds a secret: contains a long one or is a
// short one.
func (s *Secrets) Holds(text string) bool {
	if s == nil {
		return false
	}
	for _, n := range s.long {
		if strings.Contains(text, n) {
			return true
		}
	}
	for _, n := range s.short {
		if text == n {
			return true
		}
	}
	return false
}

// HoldsValue reports whether a JSON-like value holds a secret anywhere: in
// a string, a number's text or a map key.
func (s *Secrets) HoldsValue(v any) bool {
	if s.Empty() {
		return false
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s.Holds(k) || s.HoldsValue(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if s.HoldsValue(e) {
				return true
			}
		}
	default:
		if text, ok := leafText(v); ok {
			return s.Holds(text)
		}
	}
	return false
}

// leafText returns the text of a string or number leaf.
func leafText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case int:
		return strconv.Itoa(t), true
	case json.Number:
		return t.String(), true
	}
	return "", false
}

// Scrub returns text with every secret replaced by SensitiveValue (a short
// secret only where it is quoted, as API servers quote invalid values).
func (s *Secrets) Scrub(text string) string {
	if s.Empty() {
		return text
	}
	for _, n := range s.long {
		text = strings.ReplaceAll(text, n, SensitiveValue)
	}
	for _, n := range s.short {
		text = strings.ReplaceAll(text, strconv.Quote(n), strconv.Quote(SensitiveValue))
		text = strings.ReplaceAll(text, "'"+n+"'", "'"+SensitiveValue+"'")
	}
	return text
}

// ScrubError returns err with its text scrubbed (see Scrub). The result
// still unwraps to err, for errors.Is and errors.As; print only its
// Error(). A nil err or one without secrets is returned as it is.
func (s *Secrets) ScrubError(err error) error {
	if err == nil || s.Empty() {
		return err
	}
	msg := err.Error()
	if clean := s.Scrub(msg); clean != msg {
		return &scrubbedError{msg: clean, err: err}
	}
	return err
}

// scrubbedError is an error whose text had secrets in it.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// MaskChange masks every value of rc that holds a secret: field diffs that
// touch one become Sensitive without values, and the field in Before and
// After becomes SensitiveValue (in Before also where After holds a secret
// at the same place, so that the value a new secret replaces is not shown
// either). A field diff whose value was masked before (a Secret's data) is
// marked Sensitive too. Paths and the reason are scrubbed.
func (s *Secrets) MaskChange(rc *ResourceChange) {
	for i := range rc.Diff {
		f := &rc.Diff[i]
		if s.HoldsValue(f.Before) || s.HoldsValue(f.After) || HoldsMasked(f.Before) || HoldsMasked(f.After) {
			f.Sensitive = true
		}
		if f.Sensitive {
			f.Before, f.After = nil, nil
		}
		f.Path = s.Scrub(f.Path)
	}
	rc.Reason = s.Scrub(rc.Reason)
	if !s.HoldsValue(rc.Before) && !s.HoldsValue(rc.After) {
		return
	}
	b, a := s.maskPair(rc.Before, rc.After)
	rc.Before, _ = b.(map[string]any)
	rc.After, _ = a.(map[string]any)
}

// HoldsMasked reports whether v is, or holds, SensitiveValue: a value
// masked before (a Secret's data added as a whole is a map of them).
func HoldsMasked(v any) bool {
	switch t := v.(type) {
	case string:
		return t == SensitiveValue
	case map[string]any:
		for _, e := range t {
			if HoldsMasked(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if HoldsMasked(e) {
				return true
			}
		}
	}
	return false
}

// MaskValue returns a copy of v with every leaf that holds a secret
// replaced by SensitiveValue and map keys scrubbed.
func (s *Secrets) MaskValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[s.Scrub(k)] = s.MaskValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = s.MaskValue(e)
		}
		return out
	}
	if text, ok := leafText(v); ok && s.Holds(text) {
		return SensitiveValue
	}
	return v
}

// maskPair masks before and after together: a place where after holds a
// secret is masked in before as well.
func (s *Secrets) maskPair(before, after any) (any, any) {
	switch a := after.(type) {
	case map[string]any:
		bm, ok := before.(map[string]any)
		if !ok {
			return s.MaskValue(before), s.MaskValue(after)
		}
		outA := make(map[string]any, len(a))
		outB := make(map[string]any, len(bm))
		for k, bv := range bm {
			if _, both := a[k]; !both {
				outB[s.Scrub(k)] = s.MaskValue(bv)
			}
		}
		for k, av := range a {
			bv, both := bm[k]
			nb, na := s.maskPair(bv, av)
			outA[s.Scrub(k)] = na
			if both {
				outB[s.Scrub(k)] = nb
			}
		}
		return outB, outA
	case []any:
		bl, ok := before.([]any)
		if !ok {
			return s.MaskValue(before), s.MaskValue(after)
		}
		return s.maskLists(bl, a)
	case nil:
		return s.MaskValue(before), nil
	}
	if s.HoldsValue(after) {
		if before != nil {
			before = SensitiveValue
		}
		return before, SensitiveValue
	}
	return s.MaskValue(before), after
}

// maskLists masks two lists item by item: by name when every item of both
// is a map with a distinct name (containers, env), else by index.
func (s *Secrets) maskLists(before, after []any) (any, any) {
	bn, _, bok := itemNames(before)
	_, an, aok := itemNames(after)
	outA := make([]any, len(after))
	outB := make([]any, len(before))
	if bok && aok {
		done := make([]bool, len(before))
		for i, av := range after {
			if j, ok := bn[an[i]]; ok {
				outB[j], outA[i] = s.maskPair(before[j], av)
				done[j] = true
			} else {
				_, outA[i] = s.maskPair(nil, av)
			}
		}
		for j, bv := range before {
			if !done[j] {
				outB[j] = s.MaskValue(bv)
			}
		}
		return outB, outA
	}
	for i := range after {
		if i < len(before) {
			outB[i], outA[i] = s.maskPair(before[i], after[i])
		} else {
			_, outA[i] = s.maskPair(nil, after[i])
		}
	}
	for j := len(after); j < len(before); j++ {
		outB[j] = s.MaskValue(before[j])
	}
	return outB, outA
}

// itemNames returns the position of every item by name, and the names in
// order, when all items are maps with a distinct string name.
func itemNames(l []any) (map[string]int, []string, bool) {
	idx := make(map[string]int, len(l))
	order := make([]string, len(l))
	for i, item := range l {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, nil, false
		}
		name, ok := m["name"].(string)
		if _, dup := idx[name]; !ok || dup {
			return nil, nil, false
		}
		idx[name], order[i] = i, name
	}
	return idx, order, true
}

// SensitiveField locates a sensitive value inside a rendered object of a
// Block (or a release's values): what applying a saved plan must keep out
// of its output, found again without the plan file holding the secret
// anywhere else.
type SensitiveField struct {
	// Object is the index of the object in Block.Objects.
	Object int `json:"object"`
	// Pointer is the field's JSON pointer (RFC 6901), e.g.
	// "/spec/template/spec/containers/0/env/0/value".
	Pointer string `json:"pointer"`
	// Spans are the byte ranges [start, end) of the secrets inside a string
	// value; empty means the whole value.
	Spans [][2]int `json:"spans,omitempty"`
}

// Locate returns the fields of obj (decoded JSON) that hold a secret, with
// Object set to index.
func (s *Secrets) Locate(index int, obj any) []SensitiveField {
	// Most objects hold no secret: find that out without building a
	// pointer for every field.
	if !s.HoldsValue(obj) {
		return nil
	}
	var out []SensitiveField
	s.locate(index, "", obj, &out)
	return out
}

func (s *Secrets) locate(index int, ptr string, v any, out *[]SensitiveField) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s.locate(index, ptr+"/"+escapePointer(k), t[k], out)
		}
	case []any:
		for i, e := range t {
			s.locate(index, ptr+"/"+strconv.Itoa(i), e, out)
		}
	case string:
		if spans := s.spans(t); len(spans) > 0 {
			*out = append(*out, SensitiveField{Object: index, Pointer: ptr, Spans: spans})
		}
	default:
		if text, ok := leafText(v); ok && s.Holds(text) {
			*out = append(*out, SensitiveField{Object: index, Pointer: ptr})
		}
	}
}

// spans returns where the secrets are in text; a short secret only as the
// whole text.
func (s *Secrets) spans(text string) [][2]int {
	var out [][2]int
	for _, n := range s.long {
		for from := 0; ; {
			i := strings.Index(text[from:], n)
			if i < 0 {
				break
			}
			out = append(out, [2]int{from + i, from + i + len(n)})
			from += i + len(n)
		}
	}
	for _, n := range s.short {
		if text == n {
			out = append(out, [2]int{0, len(text)})
		}
	}
	return out
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// Values returns the secrets the field locates in obj (decoded JSON):
// its spans of the string, or the whole value. It returns nothing when the
// pointer or a span does not fit obj.
func (f SensitiveField) Values(obj any) []string {
	v := obj
	if f.Pointer != "" {
		for _, tok := range strings.Split(f.Pointer[1:], "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch t := v.(type) {
			case map[string]any:
				v = t[tok]
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(t) {
					return nil
				}
				v = t[i]
			default:
				return nil
			}
		}
	}
	text, ok := leafText(v)
	if !ok {
		return nil
	}
	if len(f.Spans) == 0 {
		return []string{text}
	}
	var out []string
	for _, sp := range f.Spans {
		if sp[0] < 0 || sp[0] >= sp[1] || sp[1] > len(text) {
			continue
		}
		out = append(out, text[sp[0]:sp[1]])
	}
	return out
}

// Secrets returns the secrets that the plan's blocks locate in their
// rendered objects (Block.Sensitive): what applying a saved plan keeps out
// of its output.
func (p *Plan) Secrets() (*Secrets, error) {
	s := &Secrets{}
	for _, b := range p.Blocks {
		objs := map[int]any{}
		for _, f := range b.Sensitive {
			if f.Object < 0 || f.Object >= len(b.Objects) {
				return nil, fmt.Errorf("%s: sensitive field %s of object %d: no such object", b.Address, f.Pointer, f.Object)
			}
			obj, ok := objs[f.Object]
			if !ok {
				if err := json.Unmarshal(b.Objects[f.Object], &obj); err != nil {
					return nil, fmt.Errorf("%s: object %d: %w", b.Address, f.Object, err)
				}
				objs[f.Object] = obj
			}
			s.Add(f.Values(obj)...)
		}
	}
	return s, nil
}
