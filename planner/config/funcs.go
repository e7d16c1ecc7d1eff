package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"sigs.k8s.io/yaml"

	"github.com/strata-gitops/strata/internal/confine"
)

// maxFileSize bounds what file() and templatefile() read.
const maxFileSize = 16 << 20

// functions returns the function table of a stack in dir. getenv may be
// nil; partial makes env() of an unset variable unknown.
func functions(dir string, getenv func(string) string, partial bool) map[string]function.Function {
	fns := map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"base64decode":    base64DecodeFunc,
		"base64encode":    base64EncodeFunc,
		"can":             tryfunc.CanFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        coalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"index":           stdlib.IndexFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          lengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"sha256":          sha256Func,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"try":             tryfunc.TryFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"yamldecode":      yamlDecodeFunc,
		"yamlencode":      yamlEncodeFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
	fns["file"] = fileFunc(dir)
	fns["env"] = envFunc(getenv, partial)
	// templatefile may call every function but itself.
	inner := make(map[string]function.Function, len(fns))
	for k, v := range fns {
		inner[k] = v
	}
	fns["templatefile"] = templateFileFunc(dir, inner)
	return fns
}

// coalesceFunc is Terraform's coalesce: the first argument that is neither
// null nor an empty string.
var coalesceFunc = function.New(&function.Spec{
	Description: "Returns the first argument that is not null or an empty string.",
	VarParam:    &function.Parameter{Name: "vals", Type: cty.DynamicPseudoType, AllowNull: true, AllowUnknown: true, AllowDynamicType: true},
	Type: func(args []cty.Value) (cty.Type, error) {
		return stdlib.CoalesceFunc.ReturnTypeForValues(args)
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		for _, a := range args {
			if !a.IsKnown() {
				return cty.UnknownVal(retType), nil
			}
			if a.IsNull() {
				continue
			}
			if a.Type() == cty.String {
				if s, _ := a.Unmark(); s.AsString() == "" {
					continue
				}
			}
			return convert.Convert(a, retType)
		}
		return cty.NilVal, errors.New("no argument is a non-null, non-empty value")
	},
})

// lengthFunc is Terraform's length: characters of a string, elements of a
// collection.
var lengthFunc = function.New(&function.Spec{
	Description: "Returns the number of characters of a string or elements of a collection.",
	Params: []function.Parameter{{
		Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true, AllowMarked: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) {
		ty := args[0].Type()
		if ty == cty.String || ty == cty.DynamicPseudoType || ty.IsCollectionType() || ty.IsTupleType() || ty.IsObjectType() {
			return cty.Number, nil
		}
		return cty.NilType, function.NewArgErrorf(0, "length needs a string or a collection")
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, marks := args[0].Unmark()
		if v.Type() == cty.String {
			if !v.IsKnown() {
				return cty.UnknownVal(cty.Number).WithMarks(marks), nil
			}
			return stdlib.Strlen(v)
		}
		if v.Type().IsObjectType() {
			return cty.NumberIntVal(int64(len(v.Type().AttributeTypes()))).WithMarks(marks), nil
		}
		out, err := stdlib.Length(v)
		return out.WithMarks(marks), err
	},
})

var base64EncodeFunc = function.New(&function.Spec{
	Description: "Encodes a string with standard Base64.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String, AllowMarked: true}},
	Type:        function.StaticReturnType(cty.String),
	RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
		return b.NotNull()
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		s, marks := args[0].Unmark()
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(s.AsString()))).WithMarks(marks), nil
	},
})

var base64DecodeFunc = function.New(&function.Spec{
	Description: "Decodes a standard Base64 string that holds UTF-8 text.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String, AllowMarked: true}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		s, marks := args[0].Unmark()
		b, err := base64.StdEncoding.DecodeString(s.AsString())
		if err != nil {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "the string is not valid Base64")
		}
		if !utf8.Valid(b) {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "the decoded bytes are not valid UTF-8")
		}
		return cty.StringVal(string(b)).WithMarks(marks), nil
	},
})

var sha256Func = function.New(&function.Spec{
	Description: "Returns the hex SHA-256 digest of a string.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String, AllowMarked: true}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		s, marks := args[0].Unmark()
		sum := sha256.Sum256([]byte(s.AsString()))
		return cty.StringVal(hex.EncodeToString(sum[:])).WithMarks(marks), nil
	},
})

var yamlEncodeFunc = function.New(&function.Spec{
	Description: "Encodes a value as YAML.",
	Params:      []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowMarked: true, AllowNull: true}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, marks := args[0].UnmarkDeep()
		if !v.IsWhollyKnown() {
			return cty.UnknownVal(cty.String).WithMarks(marks), nil
		}
		j, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return cty.NilVal, err
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			return cty.NilVal, err
		}
		return cty.StringVal(string(y)).WithMarks(marks), nil
	},
})

var yamlDecodeFunc = function.New(&function.Spec{
	Description: "Decodes a YAML document.",
	Params:      []function.Parameter{{Name: "src", Type: cty.String, AllowMarked: true}},
	Type: func(args []cty.Value) (cty.Type, error) {
		v, _ := args[0].Unmark()
		if !v.IsKnown() {
			return cty.DynamicPseudoType, nil
		}
		j, err := yaml.YAMLToJSON([]byte(v.AsString()))
		if err != nil {
			return cty.NilType, function.NewArgErrorf(0, "invalid YAML: %s", err)
		}
		return ctyjson.ImpliedType(j)
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		v, marks := args[0].Unmark()
		j, err := yaml.YAMLToJSON([]byte(v.AsString()))
		if err != nil {
			return cty.NilVal, function.NewArgErrorf(0, "invalid YAML: %s", err)
		}
		out, err := ctyjson.Unmarshal(j, retType)
		if err != nil {
			return cty.NilVal, err
		}
		return out.WithMarks(marks), nil
	},
})

// readStackFile reads the text file name, relative to the stack directory
// dir and confined to it (see confinePath).
func readStackFile(dir, name string) (string, error) {
	p, err := confinePath(dir, name)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("no file %q in the stack directory", name)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%q is a directory, not a file", name)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%q is not a regular file", name)
	}
	if fi.Size() > maxFileSize {
		return "", fmt.Errorf("%q is larger than %d MiB", name, maxFileSize>>20)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("read %q: %w", name, err)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%q is not UTF-8 text", name)
	}
	return string(b), nil
}

// confinePath returns the real path of name, relative to the stack
// directory dir, or an error when it does not exist or is not inside dir
// (absolute, climbing out with "..", or through a symbolic link); the
// error for the latter wraps confine.ErrOutside.
func confinePath(dir, name string) (string, error) {
	p, err := confine.Resolve(dir, name)
	switch {
	case errors.Is(err, confine.ErrOutside):
		return "", fmt.Errorf("%w. A stack reads only files inside its directory; pass what lives elsewhere in a variable (--var, --var-file, STRATA_VAR_name)", outsideError{err})
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("no file %q in the stack directory", name)
	case err != nil:
		return "", err
	}
	return p, nil
}

// outsideError words a confinement error for the stack directory.
type outsideError struct{ err error }

func (o outsideError) Error() string {
	return strings.Replace(o.err.Error(), confine.ErrOutside.Error(), "outside the stack directory", 1)
}

func (o outsideError) Unwrap() error { return o.err }

func fileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Reads a file relative to the stack directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := readStackFile(dir, args[0].AsString())
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(s), nil
		},
	})
}

func envFunc(getenv func(string) string, partial bool) function.Function {
	return function.New(&function.Spec{
		Description: "Reads an environment variable; with a second argument, the default when it is unset or empty.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one default")
			}
			name := args[0].AsString()
			v := ""
			if getenv != nil {
				v = getenv(name)
			}
			if v != "" {
				return cty.StringVal(v), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			if partial {
				return cty.UnknownVal(cty.String), nil
			}
			return cty.NilVal, function.NewArgErrorf(0, "environment variable %s is not set; set it, or give env() a default as second argument", name)
		},
	})
}

func templateFileFunc(dir string, fns map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Description: "Renders a template file relative to the stack directory with the given variables.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType, AllowMarked: true},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			src, err := readStackFile(dir, name)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			diags := checkTemplateNesting([]byte(src), name)
			var expr hclsyntax.Expression
			if !diags.HasErrors() {
				expr, diags = hclsyntax.ParseTemplate([]byte(src), name, hcl.InitialPos)
			}
			if diags.HasErrors() {
				return cty.NilVal, function.NewArgErrorf(0, "template %s: %s", name, diags.Error())
			}
			vars, marks := args[1].Unmark()
			ty := vars.Type()
			if !vars.IsKnown() {
				return cty.UnknownVal(cty.String).WithMarks(marks), nil
			}
			if !ty.IsObjectType() && !ty.IsMapType() {
				return cty.NilVal, function.NewArgErrorf(1, "template variables must be an object or a map")
			}
			ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: fns}
			if vars.IsKnown() && !vars.IsNull() {
				for it := vars.ElementIterator(); it.Next(); {
					k, v := it.Element()
					ctx.Variables[k.AsString()] = v
				}
			}
			v, diags := expr.Value(ctx)
			if diags.HasErrors() {
				return cty.NilVal, function.NewArgErrorf(1, "template %s: %s", name, diags.Error())
			}
			return v.WithMarks(marks), nil
		},
	})
}
