package view

import (
	"encoding/json"
	"io"
	"time"

	"github.com/strata-gitops/strata/planner/plan"
)

// JSONPlan is the machine-readable plan, documented in docs/plan-json.md.
// Fields are only ever added within a format_version major version.
type JSONPlan struct {
	FormatVersion   string                `json:"format_version"`
	StrataVersion   string                `json:"strata_version"`
	CreatedAt       time.Time             `json:"created_at"`
	Environment     string                `json:"environment,omitempty"`
	Destroy         bool                  `json:"destroy"`
	Targets         []string              `json:"targets"`
	State           JSONState             `json:"state"`
	Variables       map[string]JSONVar    `json:"variables"`
	SourceChanges   []plan.SourceChange   `json:"source_changes"`
	ResourceChanges []plan.ResourceChange `json:"resource_changes"`
	ReleaseChanges  []plan.ReleaseChange  `json:"release_changes"`
	Drift           []plan.Drift          `json:"drift"`
	StateRecords    []string              `json:"state_records"`
	Retry           []string              `json:"retry"`
	Moves           []plan.Move           `json:"moves,omitempty"`
	Flux            []plan.FluxObject     `json:"flux,omitempty"`
	Summary         plan.Summary          `json:"summary"`
	HasChanges      bool                  `json:"has_changes"`
	Errors          []plan.Error          `json:"errors"`
	PolicyResults   []plan.PolicyResult   `json:"policy_results"`
}

// JSONState identifies the state snapshot the plan was made against.
type JSONState struct {
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
}

// JSONVar is an input variable; a sensitive one has no value.
type JSONVar struct {
	Value     json.RawMessage `json:"value,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// ToJSON converts p to its JSON schema. Before and After of every change are
// masked again, so a plan built by hand cannot leak a Secret either, and a
// field diff whose value is masked is always "sensitive": true.
func ToJSON(p *plan.Plan) JSONPlan {
	j := JSONPlan{
		FormatVersion:   plan.FormatVersion,
		StrataVersion:   p.StrataVersion,
		CreatedAt:       p.CreatedAt,
		Environment:     p.Environment,
		Destroy:         p.Destroy,
		Targets:         nonNil(p.Targets),
		State:           JSONState{Lineage: p.State.Lineage, Serial: p.State.Serial},
		Variables:       map[string]JSONVar{},
		SourceChanges:   nonNil(p.Sources),
		ResourceChanges: maskChanges(p.Changes),
		ReleaseChanges:  make([]plan.ReleaseChange, 0, len(p.Releases)),
		Drift:           nonNil(p.Drift),
		StateRecords:    nonNil(p.Record),
		Retry:           nonNil(p.Retry),
		Moves:           p.Moves,
		Flux:            p.Flux,
		Summary:         p.Summary(),
		HasChanges:      p.HasChanges(),
		Errors:          nonNil(p.Errors),
		PolicyResults:   nonNil(p.PolicyResults),
	}
	for _, v := range p.Variables {
		if v.Sensitive {
			j.Variables[v.Name] = JSONVar{Sensitive: true}
		} else {
			j.Variables[v.Name] = JSONVar{Value: v.Value}
		}
	}
	for _, r := range p.Releases {
		r.Changes = maskChanges(r.Changes)
		j.ReleaseChanges = append(j.ReleaseChanges, r)
	}
	return j
}

func maskChanges(in []plan.ResourceChange) []plan.ResourceChange {
	out := make([]plan.ResourceChange, 0, len(in))
	for _, c := range in {
		c.Before, c.After = plan.Mask(c.Before), plan.Mask(c.After)
		d := make([]plan.FieldDiff, len(c.Diff))
		for i, f := range c.Diff {
			// A masked value always says so, and carries no value.
			if f.Sensitive || plan.HoldsMasked(f.Before) || plan.HoldsMasked(f.After) {
				f.Sensitive = true
			}
			if f.Sensitive {
				f.Before, f.After = nil, nil
			}
			d[i] = f
		}
		c.Diff = d
		out = append(out, c)
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// JSON writes p as one indented JSON document in the schema of JSONPlan.
func JSON(w io.Writer, p *plan.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ToJSON(p))
}
