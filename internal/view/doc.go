// Package view is strata's one rendering home, one file per output:
//
//   - human.go, json.go, markdown.go: plans for people and machines, human
//     text in the manner of Terraform, JSON in the versioned schema
//     documented in docs/plan-json.md, Markdown for pull-request comments;
//   - environments.go: the plans of every environment of a stack (plan
//     --all-environments) in the same three outputs;
//   - drift.go: drift reports (human, JSON, Markdown);
//   - progress.go: the apply walk's progress events;
//   - status.go: strata status (table, JSON);
//   - diag.go: HCL diagnostics with source snippets, and as JSON.
//
// Every coloured renderer paints through the palette in palette.go, and
// UseColor is the one decision whether to colour (--no-color, NO_COLOR,
// TERM=dumb, not a terminal); with colour off no renderer writes an escape
// sequence.
//
// Renderers only read a plan.Plan; they never print Plan.Blocks, which hold
// the unmasked rendered objects.
package view
