package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Environment is an `environment "NAME"` block: one deployment of the
// stack, with its own cluster, variable values, state and lock.
type Environment struct {
	Meta
	// Name is the block's label, a DNS-1123 label.
	Name string
	// Cluster is the environment's cluster block, nil when it has none.
	// The attributes it sets override those of the stack's cluster block.
	Cluster *Cluster
	// VarFiles are the var_files, relative to the stack directory, read in
	// order before the variables attribute.
	VarFiles []string
	// Backend is the environment's own backend block, nil when it has
	// none: the environment's state is then derived from the stack's
	// backend (see EnvironmentBackend).
	Backend *Backend

	// content is the block's body as decoded by declareEnvironments; its
	// cluster and backend blocks are decoded once variables are known.
	content *hcl.BodyContent
	// state is the backend in effect: Backend, or the derived one.
	state Backend
}

// EnvironmentNames returns the names of the stack's environments in the
// order they are declared.
func (s *Stack) EnvironmentNames() []string {
	out := make([]string, len(s.Environments))
	for i, e := range s.Environments {
		out[i] = e.Name
	}
	return out
}

// FindEnvironment returns the environment called name, or nil.
func (s *Stack) FindEnvironment(name string) *Environment {
	for _, e := range s.Environments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Where an environment's variable values come from (see ValueSource).
const (
	FromEnvironmentVarFile ValueSource = "environment var file"
	FromEnvironmentBlock   ValueSource = "environment block"
)

// EnvironmentStatePath is the local backend's file of environment env,
// derived from the stack's backend path p: the file of the same name in
// environments/ENV beside it (.strata/state.db becomes
// .strata/environments/staging/state.db).
func EnvironmentStatePath(p, env string) string {
	if p == "" {
		p = DefaultStatePath
	}
	return filepath.Join(filepath.Dir(p), "environments", env, filepath.Base(p))
}

// EnvironmentStateName is the kubernetes backend's state name of
// environment env, derived from the stack's state name: NAME-ENV.
func EnvironmentStateName(name, env string) string {
	if name == "" {
		name = "default"
	}
	return name + "-" + env
}

var environmentSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "variables"}, {Name: "var_files"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "cluster"},
		{Type: "backend", LabelNames: []string{"type"}},
	},
}

// declareEnvironments records the environment blocks in declaration order
// and checks the selection of LoadOptions.Environment. Their values are
// read by environmentValues, their cluster and backend blocks by
// decodeEnvironments. It returns false when the selection is wrong: what
// the stack means then depends on a choice not made, and the load stops.
func (l *loader) declareEnvironments(blocks []*hcl.Block) bool {
	for _, b := range blocks {
		name := b.Labels[0]
		if !isDNSLabel(name) {
			l.errf(b.LabelRanges[0], "Invalid environment name",
				"The name %q is not valid. An environment name names its state and its directory: use at most 63 lower case letters, digits and dashes, starting and ending with a letter or digit.", name)
			continue
		}
		if prev := l.st.FindEnvironment(name); prev != nil {
			l.duplicate(b, "environment."+name, prev.DeclRange)
			continue
		}
		env := &Environment{Name: name}
		d := l.newDecoder(&env.Meta, b, nil)
		env.content = d.content(b.Body, environmentSchema)
		l.st.Environments = append(l.st.Environments, env)
	}
	return l.selectEnvironment()
}

// selectEnvironment sets Stack.Environment from LoadOptions.Environment,
// reporting an unknown name, and a missing one on a stack that declares
// environments unless LoadOptions.AnyEnvironment.
func (l *loader) selectEnvironment() bool {
	name := l.opts.Environment
	names := l.st.EnvironmentNames()
	switch {
	case name == "" && len(names) > 0 && !l.opts.AnyEnvironment:
		first := l.st.Environments[0].DeclRange
		l.errf(first, "No environment selected",
			"The stack declares the environments %s, each with its own cluster, variables and state. Select one with -e NAME (--environment NAME), or plan them all with strata plan --all-environments.",
			quoteList(names))
		return false
	case name == "":
		return true
	case len(names) == 0:
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown environment",
			Detail: fmt.Sprintf("The command line selects the environment %q, but the stack declares no environment blocks. Drop -e, or declare the environment with an environment block.",
				name),
		})
		return false
	default:
		if env := l.st.FindEnvironment(name); env != nil {
			l.st.Environment = env
			return true
		}
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown environment",
			Detail: fmt.Sprintf("The stack declares no environment %q.%s The environments are %s.",
				name, didYouMean(name, names), quoteList(names)),
		})
		return false
	}
}

// checkedEnvironments are the environments whose values and blocks a load
// reads: the selected one, or every one when none is selected.
func (l *loader) checkedEnvironments() []*Environment {
	if l.st.Environment != nil {
		return []*Environment{l.st.Environment}
	}
	return l.st.Environments
}

// envValue is one variable value an environment sets.
type envValue struct {
	name    string
	nameRng hcl.Range
	expr    hcl.Expression
	from    ValueSource
	where   string
}

// environmentValues reads the variable values of the checked environments
// (their var_files, then their variables attribute), reports undeclared
// names and values of the wrong type, and sets the selected environment's
// values on decls. It runs after the stack's own values (defaults,
// STRATA_VAR_name, *.auto.vars files) and before the command line's.
func (l *loader) environmentValues(decls map[string]*varDecl) {
	for _, env := range l.checkedEnvironments() {
		apply := env == l.st.Environment
		for _, v := range l.readEnvironmentValues(env) {
			l.setEnvironmentValue(decls, env, v, apply)
		}
	}
}

// readEnvironmentValues returns env's values in the order they apply.
func (l *loader) readEnvironmentValues(env *Environment) []envValue {
	if env.content == nil {
		return nil
	}
	var out []envValue
	if a, ok := env.content.Attributes["var_files"]; ok {
		env.Attrs["var_files"] = a.Range
		env.VarFiles = l.envVarFiles(env, a)
		for _, name := range env.VarFiles {
			out = append(out, l.envVarFile(env, name)...)
		}
	}
	if a, ok := env.content.Attributes["variables"]; ok {
		env.Attrs["variables"] = a.Range
		out = append(out, l.envVariables(env, a)...)
	}
	return out
}

// envEvalContext evaluates environment values: functions, no variables.
func (l *loader) envEvalContext() *hcl.EvalContext {
	return &hcl.EvalContext{Functions: l.funcs}
}

// envVarFiles evaluates the var_files attribute.
func (l *loader) envVarFiles(env *Environment, a *hcl.Attribute) []string {
	v, diags := a.Expr.Value(l.envEvalContext())
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return nil
	}
	if !v.IsWhollyKnown() || !(v.Type().IsListType() || v.Type().IsTupleType()) {
		l.errf(a.Expr.Range(), "Invalid var_files", "var_files must be a list of file names, relative to the stack directory.")
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.Type() != cty.String || e.AsString() == "" {
			l.errf(a.Expr.Range(), "Invalid var_files", "var_files must be a list of file names, relative to the stack directory.")
			return nil
		}
		out = append(out, e.AsString())
	}
	return out
}

// envVarFile reads one var file of env: an HCL or JSON file of
// NAME = VALUE attributes inside the stack directory.
func (l *loader) envVarFile(env *Environment, name string) []envValue {
	rng := env.Attrs["var_files"]
	p, err := confinePath(l.dir, name)
	var src []byte
	if err == nil {
		src, err = os.ReadFile(p)
	}
	if err != nil {
		l.errf(rng, "Cannot read a variables file",
			"The environment %q reads the var file %s, which failed: %s.", env.Name, name, err)
		return nil
	}
	display := displayName(l.dir, filepath.Clean(name))
	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(name, ".json") {
		if diags = checkJSONNesting(src, display); !diags.HasErrors() {
			file, diags = l.parser.ParseJSON(src, display)
		}
	} else if diags = CheckNesting(src, display); !diags.HasErrors() {
		file, diags = l.parser.ParseHCL(src, display)
	}
	l.diags = append(l.diags, diags...)
	if file == nil || diags.HasErrors() {
		return nil
	}
	attrs, diags := file.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	var out []envValue
	for _, a := range sortedAttrs(attrs) {
		out = append(out, envValue{name: a.Name, nameRng: a.NameRange, expr: a.Expr, from: FromEnvironmentVarFile,
			where: fmt.Sprintf("%s (environment %q)", display, env.Name)})
	}
	return out
}

// envVariables reads the variables attribute: an object of NAME = VALUE,
// written out (each value's diagnostics then point at it) or computed
// (yamldecode(file(...))).
func (l *loader) envVariables(env *Environment, a *hcl.Attribute) []envValue {
	where := fmt.Sprintf("environment %q", env.Name)
	pairs, diags := hcl.ExprMap(a.Expr)
	if diags.HasErrors() {
		return l.envComputedVariables(a, where)
	}
	var out []envValue
	for _, p := range pairs {
		name := hcl.ExprAsKeyword(p.Key)
		if name == "" {
			k, diags := p.Key.Value(nil)
			if diags.HasErrors() || k.IsNull() || !k.IsKnown() || k.Type() != cty.String {
				l.errf(p.Key.Range(), "Invalid variable name", "A key of variables must be a variable name.")
				continue
			}
			name = k.AsString()
		}
		out = append(out, envValue{name: name, nameRng: p.Key.Range(), expr: p.Value, from: FromEnvironmentBlock, where: where})
	}
	return out
}

// envComputedVariables reads a variables attribute that is not an object
// written out: its value must be an object or a map.
func (l *loader) envComputedVariables(a *hcl.Attribute, where string) []envValue {
	v, diags := a.Expr.Value(l.envEvalContext())
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return nil
	}
	if v.IsNull() || !v.IsWhollyKnown() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		l.errf(a.Expr.Range(), "Invalid variables",
			"variables must be an object of variable names and values, like { namespace = \"shop-staging\", replicas = 2 }.")
		return nil
	}
	var out []envValue
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		out = append(out, envValue{name: k.AsString(), nameRng: a.Expr.Range(), expr: hcl.StaticExpr(e, a.Expr.Range()),
			from: FromEnvironmentBlock, where: where})
	}
	return out
}

// setEnvironmentValue checks one value against its declaration and, when
// apply, sets it.
func (l *loader) setEnvironmentValue(decls map[string]*varDecl, env *Environment, v envValue, apply bool) {
	decl, ok := decls[v.name]
	if !ok {
		l.errf(v.nameRng, "Value for undeclared variable",
			"The environment %q sets variable %q, but the stack declares no such variable.%s Declare it with a variable block, or remove the value.",
			env.Name, v.name, didYouMean(v.name, mapKeys(decls)))
		return
	}
	val, diags := v.expr.Value(l.envEvalContext())
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return
	}
	cv, ok := l.convertVar(decl, val, v.where, v.expr.Range())
	if !ok || !apply {
		return
	}
	decl.v.Value, decl.v.ValueSource = cv, v.from
	l.varSet[v.name] = v.expr.Range()
}

// decodeEnvironments decodes the cluster and backend blocks of the checked
// environments and makes the selected environment's the stack's Cluster
// and Strata.Backend. It runs after the stack's cluster and strata blocks
// are decoded.
func (l *loader) decodeEnvironments() {
	for _, env := range l.checkedEnvironments() {
		l.decodeEnvironmentBlocks(env)
	}
	env := l.st.Environment
	if env == nil {
		return
	}
	if env.Cluster != nil {
		if env.Cluster.IsSet("kubeconfig") {
			l.st.Cluster.Kubeconfig = env.Cluster.Kubeconfig
		}
		if env.Cluster.IsSet("context") {
			l.st.Cluster.Context = env.Cluster.Context
		}
	}
	l.st.Strata.Backend = env.state
}

func (l *loader) decodeEnvironmentBlocks(env *Environment) {
	if env.content == nil {
		return
	}
	clusters := env.content.Blocks.OfType("cluster")
	if len(clusters) > 1 {
		l.errf(clusters[1].DefRange, "Duplicate cluster block",
			"An environment talks to one cluster; the first cluster block of environment %q is at %s:%d.",
			env.Name, clusters[0].DefRange.Filename, clusters[0].DefRange.Start.Line)
	}
	if len(clusters) > 0 {
		env.Attrs["cluster"] = clusters[0].DefRange
		env.Cluster = &Cluster{}
		decodeBody(l.newDecoder(&env.Cluster.Meta, clusters[0], nil), clusters[0], &clusterBody, env.Cluster)
	}
	backends := env.content.Blocks.OfType("backend")
	if len(backends) > 1 {
		l.errf(backends[1].DefRange, "Duplicate backend block",
			"An environment has one state backend; remove all but one backend block of environment %q.", env.Name)
	}
	if len(backends) > 0 {
		env.Attrs["backend"] = backends[0].DefRange
		var s Strata
		strataBackend(&decoder{l: l, meta: &env.Meta}, backends[:1], &s)
		env.Backend = &s.Backend
	}
	env.state = l.environmentBackend(env)
}

// environmentBackend returns env's backend: its own backend block, or the
// stack's with a path (local) or name (kubernetes) of its own.
func (l *loader) environmentBackend(env *Environment) Backend {
	if env.Backend != nil {
		return *env.Backend
	}
	be := l.st.Strata.Backend
	switch be.Type {
	case "kubernetes":
		be.Name = EnvironmentStateName(be.Name, env.Name)
		if !isLabelValue(be.Name) {
			l.errf(env.DeclRange, "Invalid environment state name",
				"The state of environment %q would be named %q (the backend's name, a dash and the environment's name), which is not a valid Kubernetes label value of at most 63 characters. Shorten the names, or give the environment a backend block of its own.",
				env.Name, be.Name)
		}
	default:
		be.Path = EnvironmentStatePath(be.Path, env.Name)
	}
	return be
}

// isLabelValue reports whether s is a valid Kubernetes label value (the
// kubernetes backend labels its objects with the state name).
func isLabelValue(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case (r == '-' || r == '_' || r == '.') && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}
