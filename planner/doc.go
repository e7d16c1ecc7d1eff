// Package planner is strata's engine: it turns a stack into a plan and
// carries a plan out.
//
// An Engine is opened on a stack directory (Load) or on a saved plan
// (ForPlan). Plan loads nothing more than it must: it resolves the sources,
// renders every kustomization, reads the state and diffs against the live
// cluster with server-side dry runs (providers/kube), and returns a
// plan.Plan. Kustomizations of the stack's own tree are rendered and diffed
// ahead, independent ones in parallel (Options.Parallelism), each after its
// dependencies (prediff.go); the blocks are then planned one after the
// other in dependency order, so the plan is the same as a serial one. Apply walks the plan's blocks in dependency order, independent
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
// The engine reaches the outside world only through the interfaces of
// providers.go: Kube (diff, apply and prune, wait, scan, saved-plan reads),
// Helm (release plan, apply, uninstall, history, drift), GitSource and
// ChartSource (fetch). Providers holds them; the real ones are made in one
// place (ClusterProviders, SourceProviders) on first use, the cluster's
// before the apply walk starts, or are given by Options.Providers: the
// fakes of planner/internal/fake, with which engine_fake_test.go tests
// the engine without a cluster. Rendering is kustomize's and local.
//
// The apply walk is in apply.go, the apply of a kustomization in
// apply_kustomization.go and of a release in releases.go; removals and
// destroy plans in removal.go; the checks that refuse a stale plan in
// saved.go.
//
// Progress is reported as Events through Options.OnEvent; object progress
// carries the planner's own ObjectProgress, so callers need not import a
// provider. The engine prints nothing itself: internal/view renders.
//
// Block and object addresses (config.Address is addrs.Block) are formatted
// and parsed by internal/addrs, the one place that knows their syntax, which
// the state and the providers share.
package planner
