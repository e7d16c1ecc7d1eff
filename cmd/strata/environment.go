package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
)

// defaultEnvironmentParallelism is how many environments plan
// --all-environments plans at once unless told otherwise.
const defaultEnvironmentParallelism = 4

// addEnvironmentFlag registers -e/--environment on fs.
func addEnvironmentFlag(fs *pflag.FlagSet, dst *string) {
	fs.StringVarP(dst, "environment", "e", "", "the stack's environment (environment block) to work on; required when the stack declares environments")
}

// planEnvironmentName names the environment of a saved plan for messages.
func planEnvironmentName(p *plan.Plan) string {
	if p.Environment == "" {
		return "a stack without environments"
	}
	return fmt.Sprintf("the environment %q", p.Environment)
}

// allEnvironments are the settings of plan --all-environments.
type allEnvironments struct {
	output      string
	detailed    bool
	destroy     bool
	parallelism int
	color       bool
}

// environmentNames loads the stack's language and returns its
// environments in declaration order.
func (a *app) environmentNames(dir string, vars []config.VarArg) ([]string, error) {
	st, diags := config.Load(dir, config.LoadOptions{Vars: vars, Getenv: a.getenv, Partial: true, AnyEnvironment: true})
	names := st.EnvironmentNames()
	// An error in one environment's values shows in its own plan's place
	// and does not hide the others; without environments there is
	// nothing to plan.
	if diags.HasErrors() && len(names) == 0 {
		a.writeDiags(diags, st.Files)
		return nil, errSilent
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("the stack in %s declares no environment blocks: --all-environments plans each environment of a stack; plan this one without it", dir)
	}
	return names, nil
}

// planAllEnvironments plans every environment of the stack in dir, at most
// s.parallelism at once, each with its own engine (state, lock and cluster
// connection), and prints them together. An environment that fails is
// reported in its place; the others are planned and printed all the same.
func (a *app) planAllEnvironments(ctx context.Context, f *stackFlags, dir string, s allEnvironments) error {
	names, err := a.environmentNames(dir, f.vars)
	if err != nil {
		return err
	}
	if len(f.targets) > 0 {
		fmt.Fprintf(a.stderr, "Warning: the plans are limited to %s and the blocks they depend on.\n\n",
			strings.Join(f.targets, ", "))
	}
	envs := make([]view.EnvironmentPlan, len(names))
	var g errgroup.Group
	g.SetLimit(max(1, s.parallelism))
	for i, name := range names {
		g.Go(func() error {
			opts := a.engineOptions(f, dir)
			opts.Environment = name
			opts.Destroy = s.destroy
			p, err := a.planEnvironment(ctx, f, opts)
			envs[i] = view.EnvironmentPlan{Name: name, Plan: p, Err: err}
			return nil
		})
	}
	_ = g.Wait() // every environment's error is in envs
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := a.renderEnvironments(envs, s); err != nil {
		return err
	}
	return environmentsExit(envs, s.detailed)
}

// renderEnvironments writes the environments' plans in the output format.
func (a *app) renderEnvironments(envs []view.EnvironmentPlan, s allEnvironments) error {
	switch s.output {
	case "json":
		return view.EnvironmentsJSON(a.stdout, envs)
	case "markdown", "md":
		return view.EnvironmentsMarkdown(a.stdout, envs, view.MarkdownOptions{})
	}
	return view.EnvironmentsHuman(a.stdout, envs, view.HumanOptions{Color: s.color})
}

// environmentsExit is the exit status of plan --all-environments: 1 when an
// environment could not be planned, its plan has errors (both named on
// stderr, apart) or violates a mandatory policy, as plan -e NAME exits for
// that environment; else 2 with --detailed-exitcode when any environment
// has changes.
func environmentsExit(envs []view.EnvironmentPlan, detailed bool) error {
	var noPlan, withErrors, refused []string
	changes := false
	for _, e := range envs {
		switch {
		case e.Plan == nil:
			noPlan = append(noPlan, e.Name)
			continue
		case e.Plan.HasErrors():
			withErrors = append(withErrors, e.Name)
		}
		changes = changes || e.Plan.HasChanges()
		if len(e.Plan.PolicyViolations(plan.Mandatory)) > 0 {
			refused = append(refused, e.Name)
		}
	}
	if len(noPlan) == len(envs) {
		return fmt.Errorf("planning failed for every environment (%s)", strings.Join(noPlan, ", "))
	}
	var why []string
	if len(noPlan) > 0 {
		why = append(why, "planning failed for the environment(s) "+strings.Join(noPlan, ", "))
	}
	if len(withErrors) > 0 {
		why = append(why, "the plans of the environment(s) "+strings.Join(withErrors, ", ")+" have errors: apply refuses them until they are resolved")
	}
	if len(refused) > 0 {
		why = append(why, "the plans of the environment(s) "+strings.Join(refused, ", ")+" violate mandatory policies: apply refuses them (see docs/policy.md)")
	}
	if len(why) > 0 {
		return errors.New(strings.Join(why, "; "))
	}
	if detailed && changes {
		return &exitError{code: 2}
	}
	return nil
}

// planEnvironment loads and plans one environment, holding its state lock
// while it reads (unless --lock=false). Diagnostics come back as the
// error's text, so that environments planned in parallel do not write
// over each other.
func (a *app) planEnvironment(ctx context.Context, f *stackFlags, opts planner.Options) (*plan.Plan, error) {
	eng, diags := planner.Load(opts)
	if diags.HasErrors() {
		var files map[string]*hcl.File
		if eng != nil && eng.Stack() != nil {
			files = eng.Stack().Files
		}
		return nil, diagnosticsError(diags, files)
	}
	defer eng.Close()
	if f.lock {
		if err := eng.Lock(ctx, "plan", f.lockTimeout); err != nil {
			return nil, lockError(err)
		}
		defer a.unlock(ctx, eng)
	}
	p, err := eng.Plan(ctx)
	if d := blockDiagnostics(err); d != nil {
		return nil, diagnosticsError(d, eng.Stack().Files)
	}
	return p, err
}

// diagnosticsError returns diags rendered as an error's text.
func diagnosticsError(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	var buf bytes.Buffer
	_ = view.Diagnostics(&buf, diags, files, view.DiagOptions{})
	return &view.DiagnosticsError{Text: strings.TrimSpace(buf.String())}
}

// checkAllEnvironments refuses the flags that name one environment's
// settings together with --all-environments.
func checkAllEnvironments(f *stackFlags, out string) error {
	switch {
	case f.environment != "":
		return errors.New("--all-environments plans every environment: drop -e, or drop --all-environments to plan one")
	case out != "":
		return errors.New("--out saves one environment's plan: use -e NAME --out FILE per environment")
	case f.statePath != "":
		return errors.New("--state names one state file, but every environment has its own: drop --state with --all-environments")
	case f.context != "":
		return errors.New("--context names one cluster, but every environment has its own (its cluster block): drop --context with --all-environments")
	}
	return nil
}

// validateEnvironments checks the stack once per environment, with that
// environment's values: a kustomization path or chart values that depend
// on them render differently in each. It returns the diagnostics that
// base (those of the stack checked without an environment) lacks, each
// once, its detail naming the environments it occurs in.
func (a *app) validateEnvironments(ctx context.Context, st *config.Stack, vars []config.VarArg, base hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	for _, d := range base {
		seen[diagKey(d)] = true
	}
	var out hcl.Diagnostics
	where := map[string][]string{}
	for _, name := range st.EnvironmentNames() {
		est, diags := config.Load(st.Dir, config.LoadOptions{Vars: vars, Getenv: a.getenv, Partial: true, Environment: name})
		if !diags.HasErrors() {
			diags = append(diags, planner.Validate(ctx, est)...)
		}
		for _, d := range diags {
			k := diagKey(d)
			if seen[k] {
				continue
			}
			if where[k] == nil {
				out = append(out, d)
			}
			where[k] = append(where[k], name)
		}
	}
	for _, d := range out {
		envs := where[diagKey(d)]
		d.Detail += fmt.Sprintf("\n\nFound in the environment%s %s.", plural(len(envs)), quoteNames(envs))
	}
	return out
}

// diagKey identifies a diagnostic by what it says and where.
func diagKey(d *hcl.Diagnostic) string {
	k := fmt.Sprintf("%d\x00%s\x00%s", d.Severity, d.Summary, d.Detail)
	if d.Subject != nil {
		k += "\x00" + d.Subject.String()
	}
	return k
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
