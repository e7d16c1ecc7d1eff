package planner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/helm"
)

// valuesRef is one values_from reference as a saved plan records it.
type valuesRef struct {
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Key        string `json:"key"`
	TargetPath string `json:"target_path,omitempty"`
	Optional   bool   `json:"optional,omitempty"`
	// At is the block's place in the stack, "file:line", for errors.
	At string `json:"at,omitempty"`
}

func (r valuesRef) String() string {
	return fmt.Sprintf("%s %s/%s key %s", r.Kind, r.Namespace, r.Name, r.Key)
}

// valuesFromCheck is what a saved plan records of a release's values_from
// references: the references, and a salted digest of the data read (never
// the data), so that apply can refuse the plan when it changed.
type valuesFromCheck struct {
	Refs   []valuesRef `json:"refs"`
	Salt   string      `json:"salt"`
	Digest string      `json:"digest"`
}

// valuesFrom is a release's values_from references as read at plan time.
type valuesFrom struct {
	layers []helm.ValuesLayer
	check  *valuesFromCheck
}

// objectData reads the data of a Secret or ConfigMap; found is false when
// the object does not exist.
type objectData func(ctx context.Context, kind, namespace, name string) (data map[string][]byte, found bool, err error)

// readValuesFrom reads the values_from references of every selected release
// that has some, registering what Secrets hold as secrets of the plan, so
// that everything the plan shows masks them. It runs before any block is
// planned.
func (e *Engine) readValuesFrom(ctx context.Context, blocks []config.Block) error {
	for _, b := range blocks {
		r, ok := b.(*config.Release)
		if !ok || len(r.ValuesFrom) == 0 || r.Suspend {
			continue
		}
		refs := releaseValuesRefs(r)
		vf, err := e.resolveValuesFrom(ctx, refs, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Address(), err)
		}
		e.valuesFrom[r.Address().String()] = vf
	}
	return nil
}

// releaseValuesRefs returns the values_from references of r.
func releaseValuesRefs(r *config.Release) []valuesRef {
	refs := make([]valuesRef, 0, len(r.ValuesFrom))
	for _, v := range r.ValuesFrom {
		refs = append(refs, valuesRef{Kind: v.Kind, Namespace: r.Namespace, Name: v.Name, Key: v.Key, TargetPath: v.TargetPath,
			Optional: v.Optional, At: fmt.Sprintf("%s:%d", v.DeclRange.Filename, v.DeclRange.Start.Line)})
	}
	return refs
}

// resolveValuesFrom reads refs in order as Flux does: a missing object or
// key of an optional reference is skipped, of another one an error naming
// it; each object is read once. salt is that of the digest (nil: a new
// one).
func (e *Engine) resolveValuesFrom(ctx context.Context, refs []valuesRef, salt []byte) (*valuesFrom, error) {
	if salt == nil {
		salt = make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
	}
	get, err := e.objectReader()
	if err != nil {
		return nil, err
	}
	vf := &valuesFrom{check: &valuesFromCheck{Refs: refs, Salt: hex.EncodeToString(salt)}}
	h := sha256.New()
	h.Write(salt)
	type object struct {
		data  map[string][]byte
		found bool
	}
	seen := map[string]object{}
	for _, ref := range refs {
		id := ref.Kind + "/" + ref.Namespace + "/" + ref.Name
		obj, ok := seen[id]
		if !ok {
			obj.data, obj.found, err = get(ctx, ref.Kind, ref.Namespace, ref.Name)
			if err != nil {
				return nil, fmt.Errorf("values_from (%s): reading %s %s/%s: %w", ref.At, ref.Kind, ref.Namespace, ref.Name, err)
			}
			seen[id] = obj
		}
		data, has := obj.data[ref.Key]
		digestRef(h, ref, has, data)
		switch {
		case !obj.found && ref.Optional, !has && ref.Optional:
			continue
		case !obj.found:
			return nil, fmt.Errorf("values_from (%s): %s %s/%s not found: create it in the release's namespace, or set optional = true",
				ref.At, ref.Kind, ref.Namespace, ref.Name)
		case !has:
			return nil, fmt.Errorf("values_from (%s): %s %s/%s has no key %q: add it, name another key, or set optional = true",
				ref.At, ref.Kind, ref.Namespace, ref.Name, ref.Key)
		}
		if ref.Kind == "Secret" {
			if e.secrets == nil {
				e.secrets = plan.NewSecrets()
			}
			e.secrets.Add(secretLeaves(data, ref.TargetPath != "")...)
		}
		vf.layers = append(vf.layers, helm.ValuesLayer{Source: ref.String(), Data: data, TargetPath: ref.TargetPath})
	}
	vf.check.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return vf, nil
}

// digestRef adds a reference and what it read to the digest h.
func digestRef(h interface{ Write([]byte) (int, error) }, ref valuesRef, has bool, data []byte) {
	for _, s := range []string{ref.Kind, ref.Namespace, ref.Name, ref.Key, ref.TargetPath} {
		h.Write(binary.AppendUvarint(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	if !has {
		h.Write([]byte{0})
		return
	}
	h.Write([]byte{1})
	h.Write(binary.AppendUvarint(nil, uint64(len(data))))
	h.Write(data)
}

// secretLeaves returns the values a Secret's key gives a release: the
// whole (unquoted) data for a target path, else the string and number
// leaves of its YAML, and the data itself.
func secretLeaves(data []byte, whole bool) []string {
	text := strings.TrimSpace(string(data))
	if whole {
		return []string{text, strings.Trim(text, `'"`)}
	}
	out := []string{text}
	var v any
	if yaml.Unmarshal(data, &v) == nil {
		out = appendLeaves(out, v)
	}
	return out
}

func appendLeaves(out []string, v any) []string {
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			out = appendLeaves(out, e)
		}
	case []any:
		for _, e := range t {
			out = appendLeaves(out, e)
		}
	case string:
		out = append(out, t)
	case float64:
		// A chart may print the number as Go does (1e+06) or in full
		// (1000000): mask both forms.
		out = append(out, fmt.Sprint(t), strconv.FormatFloat(t, 'f', -1, 64))
	case int64, int:
		out = append(out, fmt.Sprint(t))
	}
	return out
}

// objectReader returns a reader of Secrets and ConfigMaps with strata's own
// credentials (as Flux's controller reads valuesFrom with its own).
func (e *Engine) objectReader() (objectData, error) {
	km, err := e.kubeAs("")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, kind, namespace, name string) (map[string][]byte, bool, error) {
		gvr := schema.GroupVersionResource{Version: "v1", Resource: strings.ToLower(kind) + "s"}
		u, err := km.Get(ctx, gvr, namespace, name)
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		raw, _ := u.Object["data"].(map[string]any)
		data := make(map[string][]byte, len(raw))
		for k, v := range raw {
			s, _ := v.(string)
			if kind == "Secret" {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, false, fmt.Errorf("key %s: %w", k, err)
				}
				data[k] = b
				continue
			}
			data[k] = []byte(s)
		}
		return data, true, nil
	}, nil
}

// maskValuesFrom registers what the Secrets the stack's releases take
// values from hold as secrets of the engine, for reports that show release
// values without planning them (drift). Objects and keys that cannot be
// read are skipped: they give the releases no values.
func (e *Engine) maskValuesFrom(ctx context.Context) {
	get, err := e.objectReader()
	if err != nil {
		return
	}
	if e.secrets == nil {
		e.secrets = plan.NewSecrets()
	}
	for _, r := range e.stack.Releases {
		for _, v := range r.ValuesFrom {
			if v.Kind != "Secret" {
				continue
			}
			data, found, err := get(ctx, v.Kind, r.Namespace, v.Name)
			if err != nil || !found {
				continue
			}
			if d, ok := data[v.Key]; ok {
				e.secrets.Add(secretLeaves(d, v.TargetPath != "")...)
			}
		}
	}
}

// errValuesFromChanged says that the data of values_from references changed
// since a saved plan was made.
var errValuesFromChanged = errors.New("values_from data changed")

// checkValuesFrom reads the references a saved plan recorded again and
// refuses the plan when what they hold is not what was planned.
func (e *Engine) checkValuesFrom(ctx context.Context, c *valuesFromCheck) error {
	salt, err := hex.DecodeString(c.Salt)
	if err != nil || len(salt) == 0 {
		return errors.New("saved plan: invalid values_from salt")
	}
	vf, err := e.resolveValuesFrom(ctx, c.Refs, salt)
	if err != nil {
		return fmt.Errorf("%w: %w", errValuesFromChanged, err)
	}
	if vf.check.Digest != c.Digest {
		names := make([]string, 0, len(c.Refs))
		for _, r := range c.Refs {
			names = append(names, r.Kind+" "+r.Namespace+"/"+r.Name)
		}
		slices.Sort(names)
		return fmt.Errorf("%w: %s", errValuesFromChanged, strings.Join(slices.Compact(names), ", "))
	}
	return nil
}
