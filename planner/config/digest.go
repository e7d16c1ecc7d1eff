package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"reflect"
	"sort"
	"time"
)

// Digest returns the block's config digest.
func (g *GitSource) Digest() string { return digestOf(g) }

// Digest returns the block's config digest.
func (h *HelmSource) Digest() string { return digestOf(h) }

// Digest returns the block's configuration digest.
func (o *OCISource) Digest() string { return digestOf(o) }

// Digest returns the block's config digest.
func (k *Kustomization) Digest() string { return digestOf(k) }

// Digest returns the block's config digest.
func (r *Release) Digest() string { return digestOf(r) }

// digestOf hashes the exported fields of a block in a canonical,
// type-tagged encoding: field names, map keys sorted, secrets by value.
// Fields tagged `digest:"-"` (ranges, references) do not count.
func digestOf(v any) string {
	h := sha256.New()
	hashValue(h, reflect.ValueOf(v))
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

var (
	sensitiveType = reflect.TypeOf(Sensitive{})
	durationType  = reflect.TypeOf(time.Duration(0))
)

func writeTag(h hash.Hash, tag byte, s string) {
	var n [9]byte
	n[0] = tag
	binary.BigEndian.PutUint64(n[1:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func hashValue(h hash.Hash, v reflect.Value) {
	if !v.IsValid() {
		writeTag(h, 'n', "")
		return
	}
	if v.Type() == sensitiveType {
		writeTag(h, 'S', v.Interface().(Sensitive).v)
		return
	}
	if v.Type() == durationType {
		writeTag(h, 'd', fmt.Sprint(v.Int()))
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			writeTag(h, 'n', "")
			return
		}
		hashValue(h, v.Elem())
	case reflect.Struct:
		t := v.Type()
		writeTag(h, '{', t.Name())
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("digest") == "-" {
				continue
			}
			if f.Anonymous && f.Type == reflect.TypeOf(Meta{}) {
				continue
			}
			writeTag(h, 'f', f.Name)
			hashValue(h, v.Field(i))
		}
		writeTag(h, '}', "")
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i].Interface()) < fmt.Sprint(keys[j].Interface()) })
		writeTag(h, 'm', fmt.Sprint(len(keys)))
		for _, k := range keys {
			writeTag(h, 'k', fmt.Sprint(k.Interface()))
			hashValue(h, v.MapIndex(k))
		}
	case reflect.Slice, reflect.Array:
		writeTag(h, '[', fmt.Sprint(v.Len()))
		for i := 0; i < v.Len(); i++ {
			hashValue(h, v.Index(i))
		}
	case reflect.String:
		writeTag(h, 's', v.String())
	case reflect.Bool:
		writeTag(h, 'b', fmt.Sprint(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		writeTag(h, 'i', fmt.Sprint(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		writeTag(h, 'u', fmt.Sprint(v.Uint()))
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			writeTag(h, 'i', fmt.Sprint(int64(f)))
		} else {
			writeTag(h, 'f', fmt.Sprint(f))
		}
	default:
		writeTag(h, '?', fmt.Sprint(v.Interface()))
	}
}
