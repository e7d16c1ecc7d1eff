package planner

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/providers/git"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/helmrepo"
	"github.com/strata-gitops/strata/providers/kustomize"
	"github.com/strata-gitops/strata/providers/oci"
)

// BlockError is an error in planning a block whose cause lies in the
// stack's configuration: a kustomization that does not build, a source
// that cannot be fetched at the reference it names, a release's chart,
// version or values file. Subject is where in the stack's files the user
// must look: the attribute at fault, or the block's header. Its text is
// the error's, scrubbed of the stack's secrets, as plan errors were
// before; Diagnostic renders it like the other errors in the stack's
// files.
type BlockError struct {
	// Address is the block that was being planned.
	Address string
	// Summary is a short title: "Kustomization does not build".
	Summary string
	// Subject is the range of the attribute (or block) at fault, which may
	// be in another block than Address: a release's Helm source's url.
	Subject hcl.Range
	msg     string // the error's text, scrubbed
	hint    string // the way out, a sentence
	err     error
}

// Error returns the error's text.
func (e *BlockError) Error() string { return e.msg }

// Unwrap returns the cause.
func (e *BlockError) Unwrap() error { return e.err }

// Diagnostic returns the error as a diagnostic at Subject.
func (e *BlockError) Diagnostic() *hcl.Diagnostic {
	rng := e.Subject
	detail := e.msg
	if detail != "" && detail[len(detail)-1] != '.' {
		detail += "."
	}
	if e.hint != "" {
		detail += " " + e.hint
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: e.Summary, Detail: detail, Subject: &rng}
}

// atAttr marks an error of planning a block as lying at the attribute attr
// of block at (the planned block, or the source it names).
type atAttr struct {
	at      config.Block
	attr    string
	summary string
	hint    string
	err     error
}

func (e *atAttr) Error() string { return e.err.Error() }
func (e *atAttr) Unwrap() error { return e.err }

// at marks err as lying at attr of block b ("" for the block's header).
func at(b config.Block, attr, summary, hint string, err error) error {
	return &atAttr{at: b, attr: attr, summary: summary, hint: hint, err: err}
}

// blockError returns err, the error of planning block b, as a *BlockError
// when it was marked (see at), scrubbed of the stack's secrets; any other
// error is returned as it is.
func (e *Engine) blockError(b config.Block, err error) error {
	var a *atAttr
	if !errors.As(err, &a) {
		return err
	}
	rng := a.at.BlockMeta().DeclRange
	if a.attr != "" {
		rng = a.at.BlockMeta().Range(a.attr)
	}
	return &BlockError{Address: b.Address().String(), Summary: a.summary, Subject: rng,
		msg: e.secrets.Scrub(err.Error()), hint: a.hint, err: err}
}

// gitRefAttr returns the attribute of s that names the revision to
// fetch, "" when none does (the remote's default branch).
func gitRefAttr(s *config.GitSource) string {
	for _, attr := range []string{"branch", "tag", "semver", "commit", "ref"} {
		if s.IsSet(attr) {
			return attr
		}
	}
	return ""
}

// gitSourceError marks an error fetching Git source s: a reference that
// does not exist at the attribute naming it, anything else (a repository
// that does not exist or cannot be reached, credentials refused) at url.
func gitSourceError(s *config.GitSource, err error) error {
	switch {
	case errors.Is(err, git.ErrRefNotFound):
		attr := gitRefAttr(s)
		if attr == "" {
			return at(s, "url", "Git reference not found", "The repository has no default branch: set branch, tag, semver, commit or ref.", err)
		}
		return at(s, attr, "Git reference not found", fmt.Sprintf("Set %s to a reference that exists in the repository.", attr), err)
	case errors.Is(err, git.ErrVerification) && s.IsSet("verify"):
		return at(s, "verify", "Git signature verification failed", "", err)
	case errors.Is(err, git.ErrAuthentication), errors.Is(err, git.ErrHostKey):
		return at(s, "url", "Git source cannot be fetched", "Check the url and the source's auth block.", err)
	}
	return at(s, "url", "Git source cannot be fetched", "Check the url, and that the server can be reached from here.", err)
}

// ociRefAttr returns the attribute of s that names the artifact to
// fetch, "" when none does.
func ociRefAttr(s *config.OCISource) string {
	for _, attr := range []string{"tag", "semver", "digest"} {
		if s.IsSet(attr) {
			return attr
		}
	}
	return ""
}

// ociSourceError marks an error fetching OCI source s: an artifact that
// does not exist at the attribute naming it, anything else at url.
func ociSourceError(s *config.OCISource, err error) error {
	if attr := ociRefAttr(s); attr != "" && errors.Is(err, oci.ErrNotFound) {
		return at(s, attr, "OCI artifact not found", fmt.Sprintf("Set %s to an artifact that exists in the repository.", attr), err)
	}
	return at(s, "url", "OCI source cannot be fetched", "Check the url, the source's auth block, and that the registry can be reached from here.", err)
}

// chartPullError marks an error pulling the chart of release r from its
// Helm source src: a chart the repository does not have at chart, no
// matching version at version, anything else (the repository cannot be
// read) at the source's url.
func chartPullError(r *config.Release, src *config.HelmSource, err error) error {
	var nf *helmrepo.NotFoundError
	switch {
	case errors.As(err, &nf) && nf.Version && r.IsSet("version"):
		return at(r, "version", "Chart version not found", "Set version to one the repository has.", err)
	case errors.As(err, &nf), src.IsOCI() && errors.Is(err, helmrepo.ErrNotFound):
		return at(r, "chart", "Chart not found", "Set chart to a chart the repository has.", err)
	}
	return at(src, "url", "Helm repository cannot be fetched", "Check the url, the source's auth block, and that the repository can be reached from here.", err)
}

// releaseInputError marks an error of release r found reading its values
// files or loading and rendering its chart (nil when err is none of
// those).
func releaseInputError(r *config.Release, err error) error {
	var vf *helm.ValuesFileError
	if errors.As(err, &vf) {
		return at(r, "values_files", "Values file does not parse", "Fix the file, or the values_files list.", err)
	}
	var ce *helm.ChartError
	if errors.As(err, &ce) {
		return at(r, "chart", "Chart does not render", "Fix the chart or the release's values.", err)
	}
	return nil
}

// kustomizationError marks an error rendering kustomization k at its path.
func kustomizationError(k *config.Kustomization, err error) error {
	if errors.Is(err, kustomize.ErrOutsideRoot) {
		where := "the stack directory"
		if k.Source != nil {
			where = "the source's tree"
		}
		return at(k, "path", "Path outside "+where, "Set path to a directory inside "+where+".", err)
	}
	return at(k, "path", "Kustomization does not build", "Fix the kustomization's files, or its path.", err)
}

// driftError records err, the error of checking block b for drift, as
// blk's error, with the stack's file and line of the attribute at fault
// when it lies in the stack's files (see at).
func (e *Engine) driftError(blk *drift.Block, b config.Block, err error) {
	blk.Error = err.Error()
	var be *BlockError
	if errors.As(e.blockError(b, err), &be) {
		blk.File, blk.Line = e.stackFile(be.Subject.Filename), be.Subject.Start.Line
	}
}

// stackFile returns the name of a file of the stack relative to the stack
// directory, with forward slashes.
func (e *Engine) stackFile(name string) string {
	if !filepath.IsAbs(name) {
		if abs, err := filepath.Abs(name); err == nil {
			name = abs
		}
	}
	return relTo(e.dir, name)
}
