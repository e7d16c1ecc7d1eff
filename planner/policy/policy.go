package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"

	"github.com/strata-gitops/strata/planner/plan"
)

// The names of the CEL variables a policy sees.
const (
	VarObject    = "object"
	VarOldObject = "oldObject"
	VarChange    = "change"
	VarRelease   = "release"
	VarPlan      = "plan"
	VarVars      = "vars"
)

// KindRelease is the kind a policy's match lists to match the changes of
// Helm releases themselves (install, upgrade, rollback, uninstall).
const KindRelease = "Release"

// evalTimeout bounds the time all policies may take on one plan: an
// expression that runs away (a comprehension over a huge list) fails
// instead of hanging the plan. (A deadline, checked in comprehensions, is
// far cheaper than the API server's cost tracking of every step.)
const evalTimeout = 30 * time.Second

// Spec is a policy as the stack declares it.
type Spec struct {
	Name        string
	Description string
	// Enforcement is plan.Advisory, plan.Mandatory or plan.Approval.
	Enforcement string
	Match       Match
	// Condition is the CEL expression that must be true for every matched
	// change.
	Condition string
	// Message is the fixed message of a violation; MessageExpression a
	// CEL expression of type string that computes it (it wins).
	Message           string
	MessageExpression string
}

// Match limits the changes a policy looks at; an empty list matches
// everything.
type Match struct {
	// Kinds are object kinds (Deployment), or KindRelease.
	Kinds []string
	// Groups are API groups ("" is the core group).
	Groups []string
	// Namespaces are object (or release) namespaces; "" matches
	// cluster-scoped objects.
	Namespaces []string
	// Blocks are block addresses, with path.Match patterns
	// (release.*).
	Blocks []string
	// Actions are create, update, delete, replace, forget, no-op,
	// install, upgrade, rollback and uninstall. Empty: every action but
	// no-op.
	Actions []string
}

// Actions lists every action a Match may name.
var Actions = []string{"create", "update", "delete", "replace", "forget", "no-op", "install", "upgrade", "rollback", "uninstall"}

// Issue is a problem with a policy's CEL: Field is "condition" or
// "message_expression", Line and Column locate it in the expression
// (1-based; 0 when unknown).
type Issue struct {
	Field        string
	Line, Column int
	Message      string
}

// Policy is a compiled policy, safe for concurrent use.
type Policy struct {
	Spec
	cond, msg cel.Program
}

// Compiler compiles policies for a stack whose non-sensitive variables are
// vars; sensitive lists the sensitive ones, which policies may not read.
type Compiler struct {
	env       *cel.Env
	vars      []string
	sensitive []string
}

// NewCompiler returns a Compiler for a stack with the given variable
// names.
func NewCompiler(vars, sensitive []string) (*Compiler, error) {
	env, err := cel.NewEnv(
		cel.Variable(VarObject, cel.DynType),
		cel.Variable(VarOldObject, cel.DynType),
		cel.Variable(VarChange, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(VarRelease, cel.DynType),
		cel.Variable(VarPlan, cel.MapType(cel.StringType, cel.IntType)),
		cel.Variable(VarVars, cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
		ext.Strings(), ext.Lists(), ext.Sets(), ext.Math(), ext.Regex(),
	)
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	return &Compiler{env: env, vars: vars, sensitive: sensitive}, nil
}

// Compile compiles s. It returns the policy, or nil and the issues of its
// expressions.
func (c *Compiler) Compile(s Spec) (*Policy, []Issue) {
	p := &Policy{Spec: s}
	var issues []Issue
	var is []Issue
	p.cond, is = c.program("condition", s.Condition, cel.BoolType)
	issues = append(issues, is...)
	if s.MessageExpression != "" {
		p.msg, is = c.program("message_expression", s.MessageExpression, cel.StringType)
		issues = append(issues, is...)
	}
	if len(issues) > 0 {
		return nil, issues
	}
	return p, nil
}

func (c *Compiler) program(field, expr string, want *cel.Type) (cel.Program, []Issue) {
	checked, iss := c.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		var out []Issue
		for _, e := range iss.Errors() {
			msg := strings.TrimSuffix(e.Message, " (in container '')")
			out = append(out, Issue{Field: field, Line: e.Location.Line(), Column: e.Location.Column() + 1, Message: msg})
		}
		return nil, out
	}
	if t := checked.OutputType(); !t.IsExactType(want) && !t.IsExactType(cel.DynType) {
		return nil, []Issue{{Field: field, Line: 1, Column: 1,
			Message: fmt.Sprintf("the expression is of type %s, not %s", t, want)}}
	}
	if out := c.checkVars(field, expr, checked); len(out) > 0 {
		return nil, out
	}
	prg, err := c.env.Program(checked, cel.InterruptCheckFrequency(100), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, []Issue{{Field: field, Message: err.Error()}}
	}
	return prg, nil
}

// checkVars refuses vars.NAME (and vars["NAME"]) for a NAME that is no
// variable of the stack, or a sensitive one.
func (c *Compiler) checkVars(field, expr string, checked *cel.Ast) []Issue {
	var out []Issue
	info := checked.NativeRep().SourceInfo()
	visit := func(e ast.Expr, name string) {
		loc := info.GetStartLocation(e.ID())
		issue := Issue{Field: field, Line: loc.Line(), Column: loc.Column() + 1}
		switch {
		case slices.Contains(c.sensitive, name):
			issue.Message = fmt.Sprintf("variable %q is sensitive: policies cannot read sensitive variables", name)
		case !slices.Contains(c.vars, name):
			issue.Message = fmt.Sprintf("undeclared reference to vars.%s: the stack has no variable %q", name, name)
		default:
			return
		}
		out = append(out, issue)
	}
	ast.PreOrderVisit(checked.NativeRep().Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			sel := e.AsSelect()
			if isVarsIdent(sel.Operand()) {
				visit(sel.Operand(), sel.FieldName())
			}
		case ast.CallKind:
			call := e.AsCall()
			if call.FunctionName() == "_[_]" && len(call.Args()) == 2 && isVarsIdent(call.Args()[0]) &&
				call.Args()[1].Kind() == ast.LiteralKind {
				if s, ok := call.Args()[1].AsLiteral().(types.String); ok {
					visit(call.Args()[0], string(s))
				}
			}
		}
	}))
	return out
}

func isVarsIdent(e ast.Expr) bool { return e.Kind() == ast.IdentKind && e.AsIdent() == VarVars }

// matches reports whether the policy looks at a change.
func (p *Policy) matches(c *change) bool {
	m := p.Match
	if c.release && !slices.Contains(m.Kinds, KindRelease) {
		return false
	}
	if !c.release && len(m.Kinds) > 0 && !slices.Contains(m.Kinds, c.kind) {
		return false
	}
	if len(m.Groups) > 0 && (c.release || !slices.Contains(m.Groups, c.group)) {
		return false
	}
	if len(m.Namespaces) > 0 && !slices.Contains(m.Namespaces, c.namespace) {
		return false
	}
	if len(m.Blocks) > 0 && !matchAny(m.Blocks, c.block) {
		return false
	}
	if len(m.Actions) == 0 {
		return c.action != string(plan.NoOp)
	}
	return slices.Contains(m.Actions, c.action)
}
