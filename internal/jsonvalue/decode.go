package jsonvalue

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// DecodeObject decodes the JSON of one object into the values that
// unstructured.Unstructured's UnmarshalJSON gives: map[string]any, []any
// (empty ones not nil), string, bool, nil, and numbers as int64 when they
// have no decimal point and fit, float64 otherwise. It is that decoding
// without its validating pre-scan and its reflection, in a third of the
// time: the load of a render from the cache and the decoding of the
// cluster's lists were mostly this. A string with an escape or other than
// plain UTF-8 is decoded by encoding/json. The input must be one object;
// anything else is an error. TestDecodeObjectMatchesUnstructured checks
// both give the same.
func DecodeObject(data []byte) (map[string]any, error) {
	return decodeObject(objectDecoder{data: data})
}

// Decoder decodes objects as DecodeObject does, giving keys of equal text
// one string among all the objects it decodes: the objects of a list or
// of a render repeat their keys (metadata, labels, managed fields), which
// were then a third of the allocations. The zero Decoder is ready to use;
// it is not safe for concurrent use.
type Decoder struct {
	keys map[string]string
}

// DecodeObject decodes data as the package's DecodeObject does.
func (dec *Decoder) DecodeObject(data []byte) (map[string]any, error) {
	if dec.keys == nil {
		dec.keys = make(map[string]string, 64)
	}
	return decodeObject(objectDecoder{data: data, keys: dec.keys})
}

func decodeObject(d objectDecoder) (map[string]any, error) {
	d.space()
	if d.i >= len(d.data) || d.data[d.i] != '{' {
		return nil, ErrNotObject
	}
	m, err := d.object()
	if err != nil {
		return nil, err
	}
	if d.space(); d.i != len(d.data) {
		return nil, fmt.Errorf("json: data after the object at %d", d.i)
	}
	return m, nil
}

// ErrNotObject is the error of DecodeObject for data that is not an object.
var ErrNotObject = errors.New("json: not an object")

// objectDecoder reads JSON values from data, from offset i.
type objectDecoder struct {
	data []byte
	i    int
	keys map[string]string // the keys met so far, if interned
}

func (d *objectDecoder) errorf(what string) error {
	return fmt.Errorf("json: %s at %d", what, d.i)
}

func (d *objectDecoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value reads the value at d.i (space skipped before it).
func (d *objectDecoder) value() (any, error) {
	d.space()
	if d.i >= len(d.data) {
		return nil, d.errorf("end of data")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.string()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	for _, l := range []struct {
		text string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if len(d.data)-d.i >= len(l.text) && string(d.data[d.i:d.i+len(l.text)]) == l.text {
			d.i += len(l.text)
			return l.v, nil
		}
	}
	return nil, d.errorf("unexpected character")
}

// object reads the object at d.i, which is '{'.
func (d *objectDecoder) object() (map[string]any, error) {
	d.i++
	m := map[string]any{}
	if d.space(); d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return m, nil
	}
	for {
		if d.space(); d.i >= len(d.data) || d.data[d.i] != '"' {
			return nil, d.errorf("expected a key")
		}
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if d.space(); d.i >= len(d.data) || d.data[d.i] != ':' {
			return nil, d.errorf("expected ':'")
		}
		d.i++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		if d.space(); d.i >= len(d.data) {
			return nil, d.errorf("end of data in an object")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, nil
		default:
			return nil, d.errorf("expected ',' or '}'")
		}
	}
}

// array reads the array at d.i, which is '['.
func (d *objectDecoder) array() ([]any, error) {
	d.i++
	l := make([]any, 0)
	if d.space(); d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return l, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		l = append(l, v)
		if d.space(); d.i >= len(d.data) {
			return nil, d.errorf("end of data in an array")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return l, nil
		default:
			return nil, d.errorf("expected ',' or ']'")
		}
	}
}

// key reads the key at d.i, which is '"', as the string of keys equal to
// it met before, if the decoder interns keys.
func (d *objectDecoder) key() (string, error) {
	if d.keys == nil {
		return d.string()
	}
	start := d.i
	for j := start + 1; j < len(d.data); j++ {
		c := d.data[j]
		if c == '"' {
			if k, ok := d.keys[string(d.data[start+1:j])]; ok {
				d.i = j + 1
				return k, nil
			}
			break
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	k, err := d.string()
	if err == nil {
		d.keys[k] = k
	}
	return k, err
}

// string reads the string at d.i, which is '"'.
func (d *objectDecoder) string() (string, error) {
	start := d.i
	plain := true
	for d.i++; d.i < len(d.data); d.i++ {
		switch c := d.data[d.i]; {
		case c == '"':
			d.i++
			if raw := d.data[start+1 : d.i-1]; plain && utf8.Valid(raw) {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(d.data[start:d.i], &s); err != nil {
				return "", fmt.Errorf("json: string at %d: %w", start, err)
			}
			return s, nil
		case c == '\\':
			plain = false
			d.i++ // the escaped character, which may be '"'
		case c < 0x20:
			return "", d.errorf("control character in a string")
		}
	}
	return "", d.errorf("end of data in a string")
}

// number reads the number at d.i: an int64 when it has no decimal point
// and fits, else a float64 (as sigs.k8s.io/json's PreserveInts).
func (d *objectDecoder) number() (any, error) {
	start := d.i
	dot := false
	for ; d.i < len(d.data); d.i++ {
		c := d.data[d.i]
		if c == '.' {
			dot = true
		} else if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			break
		}
	}
	text := string(d.data[start:d.i])
	if !validNumber(text) {
		return nil, fmt.Errorf("json: invalid number %q at %d", text, start)
	}
	if !dot {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, fmt.Errorf("json: number %q at %d: %w", text, start, err)
	}
	return f, nil
}

// validNumber reports whether s is a JSON number: -?(0|[1-9][0-9]*)
// (\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string) bool {
	i := 0
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}
