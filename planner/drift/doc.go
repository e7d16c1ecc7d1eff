// Package drift is the model of a drift report.
//
// A Report says, block by block, where the live cluster differs from what
// the state says strata applied: objects edited or deleted behind strata's
// back, Helm releases upgraded, rolled back or uninstalled outside strata,
// and, when sources are checked, sources that moved on since the last apply
// (the cluster is behind Git). The planner fills a Report (Engine.Drift);
// this package only holds the data; internal/view renders it as human
// text, JSON or Markdown. Field values of Secrets never reach a Report:
// they are masked before, and renderers print field paths and masked
// values only.
package drift
