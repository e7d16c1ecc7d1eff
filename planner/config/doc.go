// Package config loads a strata stack: every *.hcl file of one directory,
// decoded into a typed [Stack].
//
// # Loading
//
//	st, diags := config.Load(dir, config.LoadOptions{Vars: args, Getenv: os.Getenv})
//
// Load never panics on user input and always returns a non-nil *Stack, with
// as much decoded as could be, together with every diagnostic found; callers
// stop when diags.HasErrors(). Stack.Files holds the parsed files so that
// diagnostics can be rendered with source snippets (see internal/view).
//
// # The contract
//
// The Stack is the contract between the language and the engine:
//
//   - Strata: required_version (checked against LoadOptions.Version), the
//     state backend ("local" with a path, or "kubernetes") and the
//     encryption key of the state and saved plans (decoded with env() and
//     file() only: the strata block is read before variables).
//   - Cluster: kubeconfig and context ("" = the kubeconfig defaults).
//   - Variables: declared variables with their resolved values. The
//     precedence, lowest first, is Terraform's: the default, STRATA_VAR_name
//     environment variables, *.auto.vars.hcl / *.auto.vars.json files in
//     lexical order, the selected environment's var_files and variables,
//     then --var-file and --var in command line order.
//   - Environments: the environment blocks in declaration order, and the
//     one selected by LoadOptions.Environment, whose cluster, values and
//     backend (its own, or derived from the stack's) are already in
//     Cluster, Variables and Strata.Backend (environment.go).
//   - Locals: evaluated local values.
//   - GitSources, HelmSources, Kustomizations, Releases, Notifications:
//     the blocks, keyed by block name.
//
// Every block embeds [Meta]: the range of its header, the range of every
// attribute and nested block set in it (keyed by a dotted path such as
// "upgrade.remediation.retries"), and which attribute paths hold a value
// derived from a sensitive variable. Every graph block (sources,
// kustomizations, releases) implements [Block]: an [Address] such as
// source.git.platform, kustomization.platform_base or release.strimzi, the
// references it makes (implicit through expressions, the source attribute,
// explicit through depends_on), and a config digest that changes when, and
// only when, the block's effective configuration changes (ranges, comments
// and depends_on do not count).
//
// References are checked by Load: an unknown block, or one of the wrong
// kind, is an error with a "did you mean" suggestion. Cycles are found by
// package planner/graph, which builds the dependency graph from
// [Block.References].
//
// A reference to a block in an expression (for example
// kustomization.base.name) evaluates to an object with the block's address,
// kind, type and name; it is known at load time, and adds a dependency.
//
// # Adding an attribute
//
// The language of every settings block (strata, backend, cluster, sources,
// kustomizations, releases, notifications and their nested blocks) is a
// table in blocks.go: one body[T] per block body, one attr line per
// attribute and one nested line per nested block, in decode order. The
// hcl.BodySchema is derived from the table. To add an attribute, add the
// field to its struct in stack.go (with a doc comment) and one line to the
// block's table, e.g.
//
//	{name: "retry_interval", decode: duration(func(k *Kustomization) *time.Duration { return &k.RetryInterval })},
//
// using the typed readers of schema.go (text, secret, flag, count,
// duration, list, dict, enum), with checks such as checkDNSLabel appended
// to the reader; a value that needs more than that gets a decoder of its
// own in checks.go. A nested block is a nested line with single, optional
// or repeated and a table of its own. Defaults are set where the block's
// value is created (decodeKustomization and the like). A new field of a
// graph block counts for its digest unless tagged `digest:"-"`. Then give
// the field its effect in the engine: TestEverySchemaAttributeHasAReader
// walks the tables and fails for an attribute whose field nothing outside
// planner/config reads.
//
// # Secrets
//
// Secrets (auth passwords, SSH keys, values of sensitive variables that end
// up in typed secret fields) are carried as [Sensitive], whose String,
// Format, MarshalJSON and MarshalText all print "(sensitive value)"; call
// Reveal to get the value. Values from sensitive variables that flow into
// free-form fields (release values, substitutions, patches) are listed in
// Meta.SensitivePaths, and Release.RedactedValues / Kustomization
// .RedactedSubstitute return copies safe to print. Diagnostics never quote a
// sensitive value.
//
// # Defaults
//
// Durations are Go durations ("30s", "5m", "1h"). Unset fields take the
// defaults named by the Default* constants; prune and wait default to true
// for kustomizations, wait to true for releases.
//
// # Validation mode
//
// With LoadOptions.Partial (used by `strata validate` and `strata graph`),
// variables without a value and env() of unset variables are unknown
// instead of an error; fields whose value is unknown are left at their zero
// value and listed in Meta.Unknown.
package config
