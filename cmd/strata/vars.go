package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/pflag"

	"github.com/strata-gitops/strata/planner/config"
)

// varFlag is the one parser of --var NAME=VALUE and --var-file FILE. Both
// flags append to one list, so that their command line order is kept
// (later ones win, as config.LoadOptions.Vars expects).
//
// NAME is everything before the first "=" and must be an HCL identifier
// (no spaces are trimmed: "--var ' a=b'" is refused). VALUE is everything
// after it, kept exactly (spaces and further "=" included; empty is an
// empty string). The loader takes it as is for string and untyped
// variables and parses it as an HCL expression for other types. FILE must
// not be empty.
type varFlag struct {
	list *[]config.VarArg
	file bool
}

func (v varFlag) String() string { return "" }

func (v varFlag) Type() string {
	if v.file {
		return "file"
	}
	return "name=value"
}

func (v varFlag) Set(s string) error {
	if v.file {
		if s == "" {
			return errors.New("want a file name")
		}
		*v.list = append(*v.list, config.VarArg{File: s})
		return nil
	}
	arg, err := parseVar(s)
	if err != nil {
		return err
	}
	*v.list = append(*v.list, arg)
	return nil
}

// parseVar parses one --var NAME=VALUE (see varFlag).
func parseVar(s string) (config.VarArg, error) {
	name, value, ok := strings.Cut(s, "=")
	switch {
	case !ok || name == "":
		return config.VarArg{}, fmt.Errorf("want NAME=VALUE, got %q", s)
	case !hclsyntax.ValidIdentifier(name):
		return config.VarArg{}, fmt.Errorf("variable name %q is not a valid name: want NAME=VALUE with a name of letters, digits, _ and -", name)
	}
	return config.VarArg{Name: name, Value: value}, nil
}

// addVarFlags registers --var and --var-file on fs, appending to list.
func addVarFlags(fs *pflag.FlagSet, list *[]config.VarArg) {
	fs.Var(varFlag{list: list}, "var", "set a variable: --var NAME=VALUE (repeatable)")
	fs.Var(varFlag{list: list, file: true}, "var-file", "read variables from an HCL or JSON file (repeatable)")
}
