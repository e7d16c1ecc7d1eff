package planner

import (
	"encoding/json"
	"fmt"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// This file keeps sensitive values out of what the engine hands out:
// plans, events, errors and drift reports. The secrets are the stack's
// sensitive values with what the configuration derived from them
// (config.Stack.SensitiveValues); applying a saved plan finds them again
// in the plan's rendered objects (plan.Plan.Secrets).

// resourceChange converts a provider change to the plan model with every
// field that holds a sensitive value masked.
func (e *Engine) resourceChange(block string, c kube.Change) plan.ResourceChange {
	rc := toResourceChange(block, c)
	e.secrets.MaskChange(&rc)
	return rc
}

// scrubErr removes the secrets from err's text.
func (e *Engine) scrubErr(err error) error { return e.secrets.ScrubError(err) }

// scrubEvent removes the secrets from the texts of an event.
func (e *Engine) scrubEvent(ev Event) Event {
	if e.secrets.Empty() {
		return ev
	}
	ev.Message = e.secrets.Scrub(ev.Message)
	ev.Err = e.scrubErr(ev.Err)
	if ev.Object != nil {
		o := *ev.Object
		o.Message = e.secrets.Scrub(o.Message)
		o.Err = e.scrubErr(o.Err)
		if len(o.Pending) > 0 {
			o.Pending = append([]PendingObject(nil), o.Pending...)
			for i := range o.Pending {
				o.Pending[i].Message = e.secrets.Scrub(o.Pending[i].Message)
			}
		}
		ev.Object = &o
	}
	return ev
}

// scrubPlan removes the secrets from the plan's free texts: the reasons of
// releases, the drift notes, the errors, and the URLs of sources
// (source.RedactURL hides a password, not a token set as the user name from
// a sensitive variable: https://${var.token}@host/repo).
func (e *Engine) scrubPlan(p *plan.Plan) {
	for i := range p.Sources {
		p.Sources[i].URL = e.secrets.Scrub(p.Sources[i].URL)
	}
	for i := range p.Releases {
		p.Releases[i].Reason = e.secrets.Scrub(p.Releases[i].Reason)
	}
	for i := range p.Drift {
		p.Drift[i].Message = e.secrets.Scrub(p.Drift[i].Message)
	}
	for i := range p.Errors {
		p.Errors[i].Message = e.secrets.Scrub(p.Errors[i].Message)
	}
}

// scrubReport masks the secrets in a drift report: field values that hold
// one become Sensitive, and texts are scrubbed.
func (e *Engine) scrubReport(rep *drift.Report) {
	s := e.secrets
	for bi := range rep.Blocks {
		b := &rep.Blocks[bi]
		b.Error = s.Scrub(b.Error)
		for i := range b.Notes {
			b.Notes[i] = s.Scrub(b.Notes[i])
		}
		for ii := range b.Items {
			it := &b.Items[ii]
			it.Message = s.Scrub(it.Message)
			for fi := range it.Fields {
				f := &it.Fields[fi]
				if s.HoldsValue(f.Live) || s.HoldsValue(f.Applied) {
					f.Live, f.Applied, f.Sensitive = nil, nil, true
				}
				f.Path = s.Scrub(f.Path)
			}
		}
	}
}

// savedSecrets adds to the engine's secrets those the saved plan p locates
// in its rendered objects and in the values of its releases.
func (e *Engine) savedSecrets(p *plan.Plan) error {
	s, err := p.Secrets()
	if err != nil {
		return fmt.Errorf("saved plan: %w", err)
	}
	for _, b := range p.Blocks {
		if b.Kind != string(config.KindRelease) || len(b.Settings) == 0 {
			continue
		}
		var rs releaseSettings
		if err := json.Unmarshal(b.Settings, &rs); err != nil {
			return fmt.Errorf("%s: settings: %w", b.Address, err)
		}
		var values any = rs.Values
		for _, f := range rs.Sensitive {
			s.Add(f.Values(values)...)
		}
	}
	if e.secrets == nil {
		e.secrets = s
		return nil
	}
	e.secrets.Merge(s)
	return nil
}
