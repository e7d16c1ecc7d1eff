package config

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// AddVarFlags registers --var NAME=VALUE and --var-file FILE on fs. Both
// append to *dst in command line order, which is the order of precedence
// (later wins) that LoadOptions.Vars expects.
func AddVarFlags(fs *pflag.FlagSet, dst *[]VarArg) {
	fs.Var(&varFlag{dst: dst}, "var", "set a stack variable: NAME=VALUE (repeatable; later wins)")
	fs.Var(&varFileFlag{dst: dst}, "var-file", "read stack variables from an HCL or JSON file (repeatable)")
}

type varFlag struct{ dst *[]VarArg }

func (f *varFlag) String() string { return "" }
func (f *varFlag) Type() string   { return "NAME=VALUE" }
func (f *varFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("invalid --var %q: want NAME=VALUE", s)
	}
	*f.dst = append(*f.dst, VarArg{Name: name, Value: value})
	return nil
}

type varFileFlag struct{ dst *[]VarArg }

func (f *varFileFlag) String() string { return "" }
func (f *varFileFlag) Type() string   { return "FILE" }
func (f *varFileFlag) Set(s string) error {
	if s == "" {
		return fmt.Errorf("--var-file needs a file name")
	}
	*f.dst = append(*f.dst, VarArg{File: s})
	return nil
}
