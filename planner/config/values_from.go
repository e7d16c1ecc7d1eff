package config

import (
	"regexp"

	"github.com/hashicorp/hcl/v2"
)

// DefaultValuesKey is the key of a values_from reference that names none,
// as Flux's valuesKey.
const DefaultValuesKey = "values.yaml"

// ValuesFrom is a `values_from` block of a release: values read at plan time
// from a Secret or ConfigMap in the release's namespace, as Flux's
// HelmRelease valuesFrom. The references are merged in order after
// values_files and before values.
type ValuesFrom struct {
	// Kind is "Secret" or "ConfigMap".
	Kind string
	// Name of the object in the release's namespace.
	Name string
	// Key in the object's data; default DefaultValuesKey.
	Key string
	// TargetPath, when set, is where the key's whole content goes as one
	// value, in Helm's --set path syntax (a.b[0].c); otherwise the content
	// is YAML values merged over what came before.
	TargetPath string
	// Optional references that are missing (object or key) are skipped.
	Optional bool
	// DeclRange is the block's header.
	DeclRange hcl.Range `digest:"-"`
}

// The shapes Flux's API accepts for valuesKey and targetPath.
var (
	valuesKeyPattern  = regexp.MustCompile(`^[\-._a-zA-Z0-9]+$`)
	targetPathPattern = regexp.MustCompile(`^([a-zA-Z0-9_\-.\\/]|\[[0-9]{1,5}\])+$`)
)

// valuesFromBody is the language of a values_from block; Key defaults to
// DefaultValuesKey.
var valuesFromBody = body[ValuesFrom]{
	attrs: []attr[ValuesFrom]{
		{name: "kind", required: true, decode: enum(func(v *ValuesFrom) *string { return &v.Kind }, "Secret", "ConfigMap")},
		{name: "name", required: true, decode: text(func(v *ValuesFrom) *string { return &v.Name }, checkObjectName)},
		{name: "key", decode: text(func(v *ValuesFrom) *string { return &v.Key }, checkValuesKey)},
		{name: "target_path", decode: text(func(v *ValuesFrom) *string { return &v.TargetPath }, checkTargetPath)},
		{name: "optional", decode: flag(func(v *ValuesFrom) *bool { return &v.Optional })},
	},
	check: func(d *decoder, c *hcl.BodyContent, v *ValuesFrom) {
		if _, set := c.Attributes["key"]; !set {
			v.Key = DefaultValuesKey
		}
		v.DeclRange = d.block.DefRange
	},
}

// checkObjectName checks the name of a Secret or ConfigMap.
func checkObjectName(d *decoder, attrs hcl.Attributes, name, s string) {
	if !isDNSSubdomain(s) {
		d.l.errf(attrs[name].Expr.Range(), "Invalid object name",
			"%s is not the name of a Secret or ConfigMap: use at most 253 lower case letters, digits, dashes and dots.", d.show(name, s))
	}
}

// checkValuesKey checks a key of a Secret's or ConfigMap's data, as
// Flux's valuesKey.
func checkValuesKey(d *decoder, attrs hcl.Attributes, name, s string) {
	if len(s) > 253 || !valuesKeyPattern.MatchString(s) {
		d.l.errf(attrs[name].Expr.Range(), "Invalid key",
			"%s is not a key of a Secret or ConfigMap: use letters, digits, dashes, dots and underscores (at most 253).", d.show(name, s))
	}
}

// checkTargetPath checks a values path, as Flux's targetPath.
func checkTargetPath(d *decoder, attrs hcl.Attributes, name, s string) {
	if len(s) > 250 || !targetPathPattern.MatchString(s) {
		d.l.errf(attrs[name].Expr.Range(), "Invalid target path",
			"%s is not a values path: write it as for helm --set, like \"auth.password\" or \"hosts[0].name\" (at most 250 characters).", d.show(name, s))
	}
}

// isDNSSubdomain reports whether s is a Kubernetes object name (RFC 1123
// subdomain).
func isDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (r == '-' || r == '.') && i > 0 && i < len(s)-1
		if !ok {
			return false
		}
	}
	return true
}
