package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/interpreter"

	"github.com/strata-gitops/strata/planner/plan"
)

// change is what a policy matches and sees of one change.
type change struct {
	address, block, kind, group, namespace, action string
	release                                        bool
	activation                                     interpreter.Activation
}

// Evaluate checks every change of p (objects of kustomizations and
// releases, and the releases themselves) against the policies and returns
// the violations, in the order of the changes and then of the policies.
// vars are the values of the stack's variables that policies may read
// (VariableValues). p's objects are masked already (plan.ResourceChange),
// so policies never see a secret. An expression that fails to evaluate
// (a missing field, a cost limit) is a violation too.
func Evaluate(policies []*Policy, p *plan.Plan, vars map[string]any) []plan.PolicyResult {
	if len(policies) == 0 {
		return nil
	}
	s := p.Summary()
	summary := map[string]int64{"add": int64(s.Add), "change": int64(s.Change), "destroy": int64(s.Destroy),
		"forget": int64(s.Forget), "release_upgrades": int64(s.ReleaseUpgrades), "drifted": int64(s.Drifted),
		"sources": int64(s.Sources), "refused": int64(s.Refused)}
	if vars == nil {
		vars = map[string]any{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), evalTimeout)
	defer cancel()
	var out []plan.PolicyResult
	check := func(c *change) {
		for _, pol := range policies {
			if pol.matches(c) {
				if r, failed := pol.check(ctx, c); failed {
					out = append(out, r)
				}
			}
		}
	}
	for i := range p.Changes {
		check(objectChange(&p.Changes[i], nil, summary, vars))
	}
	for i := range p.Releases {
		r := &p.Releases[i]
		rel := releaseValue(r)
		check(releaseChange(r, rel, summary, vars))
		for j := range r.Changes {
			check(objectChange(&r.Changes[j], rel, summary, vars))
		}
	}
	return out
}

// VariableValues returns the values policies may read as vars: those of
// the plan's non-sensitive variables.
func VariableValues(vs []plan.Variable) map[string]any {
	out := make(map[string]any, len(vs))
	for _, v := range vs {
		if v.Sensitive || len(v.Value) == 0 {
			continue
		}
		var val any
		if json.Unmarshal(v.Value, &val) == nil {
			out[v.Name] = val
		}
	}
	return out
}

func objectChange(rc *plan.ResourceChange, rel map[string]any, summary map[string]int64, vars map[string]any) *change {
	group, _ := splitAPIVersion(rc.APIVersion)
	c := &change{address: rc.Address, block: rc.Block, kind: rc.Kind, group: group, namespace: rc.Namespace,
		action: actionName(rc.Actions)}
	fields := make([]string, len(rc.Diff))
	for i, d := range rc.Diff {
		fields[i] = d.Path
	}
	vals := map[string]any{
		VarObject:    nullable(rc.After),
		VarOldObject: nullable(rc.Before),
		VarChange: map[string]any{"address": rc.Address, "block": rc.Block, "api_version": rc.APIVersion, "group": group,
			"kind": rc.Kind, "namespace": rc.Namespace, "name": rc.Name, "action": c.action, "actions": actionStrings(rc.Actions),
			"fields": fields, "reason": rc.Reason},
		VarRelease: nullable(rel),
		VarPlan:    summary,
		VarVars:    vars,
	}
	c.activation, _ = interpreter.NewActivation(vals)
	return c
}

func releaseChange(r *plan.ReleaseChange, rel map[string]any, summary map[string]int64, vars map[string]any) *change {
	c := &change{address: r.Address, block: r.Address, kind: KindRelease, namespace: r.Namespace,
		action: actionName(r.Actions), release: true}
	vals := map[string]any{
		VarObject:    types.NullValue,
		VarOldObject: types.NullValue,
		VarChange: map[string]any{"address": r.Address, "block": r.Address, "api_version": "", "group": "",
			"kind": KindRelease, "namespace": r.Namespace, "name": r.Name, "action": c.action, "actions": actionStrings(r.Actions),
			"fields": []string{}, "reason": r.Reason},
		VarRelease: rel,
		VarPlan:    summary,
		VarVars:    vars,
	}
	c.activation, _ = interpreter.NewActivation(vals)
	return c
}

func releaseValue(r *plan.ReleaseChange) map[string]any {
	return map[string]any{"address": r.Address, "name": r.Name, "namespace": r.Namespace, "action": actionName(r.Actions),
		"chart": r.ChartAfter, "chart_before": r.ChartBefore, "version": r.VersionAfter, "version_before": r.VersionBefore,
		"app_version": r.AppVersionAfter, "app_version_before": r.AppVersionBefore}
}

func nullable(m map[string]any) any {
	if m == nil {
		return types.NullValue
	}
	return m
}

// actionName is the name a Match lists for actions: replace for a
// delete-and-create, else the action.
func actionName(a plan.Actions) string {
	switch {
	case a.IsReplace():
		return "replace"
	case len(a) == 0:
		return string(plan.NoOp)
	}
	return string(a[0])
}

func actionStrings(a plan.Actions) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = string(x)
	}
	return out
}

func splitAPIVersion(apiVersion string) (group, version string) {
	for i := len(apiVersion) - 1; i >= 0; i-- {
		if apiVersion[i] == '/' {
			return apiVersion[:i], apiVersion[i+1:]
		}
	}
	return "", apiVersion
}

func matchAny(patterns []string, s string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool {
		ok, err := path.Match(p, s)
		return (err == nil && ok) || p == s
	})
}

// check evaluates the policy on c: the result and whether it is a
// violation.
func (p *Policy) check(ctx context.Context, c *change) (plan.PolicyResult, bool) {
	r := plan.PolicyResult{Policy: p.Name, Enforcement: p.Enforcement, Address: c.address}
	val, _, err := p.cond.ContextEval(ctx, c.activation)
	if err != nil {
		r.Message = fmt.Sprintf("the condition could not be evaluated: %v", err)
		return r, true
	}
	if ok, isBool := val.Value().(bool); isBool && ok {
		return r, false
	} else if !isBool {
		r.Message = fmt.Sprintf("the condition is of type %s, not bool", val.Type().TypeName())
		return r, true
	}
	r.Message = p.message(ctx, c)
	return r, true
}

// message returns the violation message of c.
func (p *Policy) message(ctx context.Context, c *change) string {
	if p.msg != nil {
		val, _, err := p.msg.ContextEval(ctx, c.activation)
		if err == nil {
			if s, ok := val.Value().(string); ok && s != "" {
				return s
			}
			err = fmt.Errorf("its value is %v, not a non-empty string", val.Value())
		}
		fallback := p.Message
		if fallback == "" {
			fallback = p.defaultMessage()
		}
		return fmt.Sprintf("%s (message_expression failed: %v)", fallback, err)
	}
	if p.Message != "" {
		return p.Message
	}
	return p.defaultMessage()
}

func (p *Policy) defaultMessage() string {
	if p.Description != "" {
		return p.Description
	}
	return "failed: " + p.Condition
}
