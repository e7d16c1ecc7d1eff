// Package planner is strata's engine: it turns a stack into a plan and
// carries a plan out.
//
// An Engine is opened on a stack directory (Load) or on a saved plan
// (ForPlan). Plan loads nothing more than it must: it resolves the sources,
// renders every kustomization, reads the state and diffs against the live
// cluster with server-side dry runs (providers/kube), and returns a
// plan.Plan. Apply walks the plan's blocks in dependency order, independent
// blocks in parallel (Options.Parallelism), and writes every finished block
// to the state at once, so an interrupted apply loses nothing and running it
// again converges. A failed block stops the blocks that depend on it and no
// others. Destroy plans delete every block in reverse dependency order.
//
// Progress is reported as Events through Options.OnEvent; the engine prints
// nothing itself.
package planner
