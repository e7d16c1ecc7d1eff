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
// Drift compares the live cluster with the state (a drift.Report) and
// changes nothing: drift_check.go holds the walk over the blocks, and one
// file per block kind its check (drift_kustomization.go, drift_release.go,
// drift_source.go); every request to the cluster and to Helm's storage goes
// through providers/kube and providers/helm (kube.Manager ScanMetadata,
// helm.Manager History), impersonating the block's service account. A
// Watcher runs drift checks on a schedule, sends the stack's notifications
// once per change and reports WatchEvents. Status returns a BlockStatus per
// block, with the readiness rules of strata status.
//
// Progress is reported as Events through Options.OnEvent; object progress
// carries the planner's own ObjectProgress, so callers need not import a
// provider. The engine prints nothing itself: internal/view renders.
//
// Block and object addresses (config.Address is addrs.Block) are formatted
// and parsed by internal/addrs, the one place that knows their syntax, which
// the state and the providers share.
package planner
