// Package plan is strata's plan model: plain data that says what an apply
// would do to each source, kustomization object and Helm release of a stack,
// and why.
//
// A Plan is built by the planner engine, rendered by internal/view for people
// (human text, a pull-request comment) and machines (JSON), saved to a file
// with Write and read back with Read, and carried out by the apply walk.
//
// Before and After of a ResourceChange are masked: the values of a Secret
// never appear in them. The unmasked objects that apply needs live in
// Plan.Blocks, which no renderer prints.
package plan
