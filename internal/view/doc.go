// Package view renders plans for people and machines: human text in the
// manner of Terraform (with or without colour), JSON in the versioned schema
// documented in docs/plan-json.md, and Markdown for pull-request comments.
// It also renders the apply walk's progress events.
//
// Renderers only read a plan.Plan; they never print Plan.Blocks, which hold
// the unmasked rendered objects.
package view
