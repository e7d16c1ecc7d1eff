package planner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/git"
	"github.com/strata-gitops/strata/providers/helmrepo"
	"github.com/strata-gitops/strata/providers/oci"
	"github.com/strata-gitops/strata/providers/source"
	"github.com/strata-gitops/strata/state"
)

func helmSpec(s *config.HelmSource) helmrepo.Spec {
	spec := helmrepo.Spec{URL: s.URL, CABundle: []byte(s.CA), PassCredentials: s.PassCredentials, PlainHTTP: s.PlainHTTP,
		InsecureSkipVerify: s.InsecureSkipVerify}
	if a := s.Auth; a != nil {
		spec.Username, spec.Password = a.Username, a.Password.Reveal()
		spec.CertPEM, spec.KeyPEM = []byte(a.Cert), []byte(a.Key.Reveal())
	}
	return spec
}

// planHelmSource records a chart repository block. Charts are resolved per
// release; the repository itself has no revision.
func (e *Engine) planHelmSource(p *plan.Plan, snap *state.Snapshot, s *config.HelmSource) {
	addr := s.Address().String()
	if _, ok := snap.Block(addr); !ok {
		p.Sources = append(p.Sources, plan.SourceChange{Address: addr, Kind: map[bool]string{true: "oci", false: "helm"}[s.IsOCI()],
			URL: source.RedactURL(s.URL), Actions: plan.Actions{plan.Create}})
	}
	p.Blocks = append(p.Blocks, plan.Block{Address: addr, Kind: "source.helm", DependsOn: dependsOn(s), ConfigDigest: s.Digest()})
}

// pullChart resolves and downloads the chart of a release from its Helm
// source and returns the archive's path and its revision.
func (e *Engine) pullChart(ctx context.Context, r *config.Release) (string, string, error) {
	src := e.stack.HelmSources[r.Source.Addr.Name]
	if src == nil {
		return "", "", fmt.Errorf("no source %s", r.Source.Addr)
	}
	prov, err := e.connectSources()
	if err != nil {
		return "", "", err
	}
	ctx, cancel := sourceContext(ctx, src.Timeout)
	defer cancel()
	ch, err := prov.Charts.Pull(ctx, helmSpec(src), helmrepo.ChartRef{Name: r.Chart, Version: r.Version})
	if err != nil {
		return "", "", chartPullError(r, src, timedOut(ctx, src.Timeout, err))
	}
	return ch.Path, ch.Revision(), nil
}

func gitSpec(s *config.GitSource) git.Spec {
	spec := git.Spec{
		URL:    s.URL,
		Ref:    git.Ref{Branch: s.Branch, Tag: s.Tag, SemVer: s.Semver, Commit: s.Commit, Name: s.RefName},
		Ignore: s.Ignore,
	}
	if a := s.Auth; a != nil {
		spec.Auth = git.Auth{Username: a.Username, Password: a.Password.Reveal(), BearerToken: a.BearerToken.Reveal(),
			SSHPrivateKey: []byte(a.PrivateKey.Reveal()), SSHPassphrase: a.Passphrase.Reveal(), KnownHosts: []byte(a.KnownHosts)}
		if a.CA != "" {
			spec.CABundle = []byte(a.CA)
		}
	}
	if v := s.Verify; v != nil {
		spec.Verify = &git.Verify{PublicKeys: []string{v.PublicKeys}}
		switch v.Mode {
		case "head":
			spec.Verify.Mode = git.VerifyHead
		case "tag":
			spec.Verify.Mode = git.VerifyTag
		case "tag_and_head":
			spec.Verify.Mode = git.VerifyTagAndHead
		}
	}
	return spec
}

// planGitSource fetches a Git source at its current revision and records
// the revision change.
func (e *Engine) planGitSource(ctx context.Context, p *plan.Plan, snap *state.Snapshot, s *config.GitSource) error {
	addr := s.Address().String()
	art, err := e.fetchAt(ctx, s.Address(), "")
	if err != nil {
		return fmt.Errorf("%s: %w", addr, gitSourceError(s, err))
	}
	e.artifacts[addr] = art
	p.Sources = append(p.Sources, revisionChange(snap, plan.SourceChange{Address: addr, Kind: "git", URL: source.RedactURL(s.URL), After: art.Revision}))
	p.Blocks = append(p.Blocks, plan.Block{Address: addr, Kind: "source.git", DependsOn: dependsOn(s),
		Revision: art.Revision, ConfigDigest: s.Digest()})
	return nil
}

// artifact returns the fetched tree of the source a block refers to.
func (e *Engine) artifact(ref *config.Ref) (*source.Artifact, error) {
	art, ok := e.artifacts[ref.Addr.String()]
	if !ok {
		return nil, fmt.Errorf("source %s was not fetched", ref.Addr)
	}
	return art, nil
}

// sourceContext bounds one fetch of a source by its timeout (none when 0).
func sourceContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}

// timedOut says so when err ended a fetch because its source's timeout
// passed.
func timedOut(ctx context.Context, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within the source's timeout (%s): %w", timeout, err)
	}
	return err
}

// fetchAt fetches the tree source at addr at revision (as recorded in
// state; "" for its current revision).
func (e *Engine) fetchAt(ctx context.Context, addr config.Address, revision string) (*source.Artifact, error) {
	switch src := e.stack.Block(addr).(type) {
	case *config.GitSource:
		return e.fetchTree(ctx, src.Timeout, func(ctx context.Context, prov *Providers) (*source.Artifact, error) {
			spec := gitSpec(src)
			if revision != "" {
				pinned, err := git.Pin(spec, revision)
				if err != nil {
					return nil, err
				}
				spec = pinned
			}
			return prov.Git.Fetch(ctx, spec)
		})
	case *config.OCISource:
		return e.fetchTree(ctx, src.Timeout, func(ctx context.Context, prov *Providers) (*source.Artifact, error) {
			spec := ociSpec(src)
			if revision != "" {
				pinned, err := oci.Pin(spec, revision)
				if err != nil {
					return nil, err
				}
				spec = pinned
			}
			return prov.OCI.Fetch(ctx, spec)
		})
	}
	return nil, fmt.Errorf("%s is not a Git or OCI source", addr)
}

// fetchTree runs fetch with the source providers within the source's
// timeout, saying so when that timeout ended it.
func (e *Engine) fetchTree(ctx context.Context, timeout time.Duration,
	fetch func(context.Context, *Providers) (*source.Artifact, error)) (*source.Artifact, error) {
	prov, err := e.connectSources()
	if err != nil {
		return nil, err
	}
	fctx, cancel := sourceContext(ctx, timeout)
	defer cancel()
	art, err := fetch(fctx, prov)
	if err != nil {
		return nil, timedOut(fctx, timeout, err)
	}
	return art, nil
}

func ociSpec(s *config.OCISource) oci.Spec {
	spec := oci.Spec{URL: s.URL, Ref: oci.Ref{Tag: s.Tag, SemVer: s.Semver, Digest: s.ManifestDigest}, PlainHTTP: s.PlainHTTP,
		TLS: source.TLS{CABundle: []byte(s.CA), InsecureSkipVerify: s.InsecureSkipVerify}}
	if a := s.Auth; a != nil {
		spec.Username, spec.Password = a.Username, a.Password.Reveal()
		spec.TLS.CertPEM, spec.TLS.KeyPEM = []byte(a.Cert), []byte(a.Key.Reveal())
	}
	return spec
}

// planOCISource fetches an OCI artifact at the manifest its reference
// names now and records the revision change.
func (e *Engine) planOCISource(ctx context.Context, p *plan.Plan, snap *state.Snapshot, s *config.OCISource) error {
	addr := s.Address().String()
	art, err := e.fetchAt(ctx, s.Address(), "")
	if err != nil {
		return fmt.Errorf("%s: %w", addr, ociSourceError(s, err))
	}
	e.artifacts[addr] = art
	p.Sources = append(p.Sources, revisionChange(snap, plan.SourceChange{Address: addr, Kind: "oci", URL: source.RedactURL(s.URL), After: art.Revision}))
	p.Blocks = append(p.Blocks, plan.Block{Address: addr, Kind: "source.oci", DependsOn: dependsOn(s),
		Revision: art.Revision, ConfigDigest: s.Digest()})
	return nil
}

// revisionChange sets the actions of sc, a source resolved to sc.After,
// from the revision recorded in snap.
func revisionChange(snap *state.Snapshot, sc plan.SourceChange) plan.SourceChange {
	sc.Actions = plan.Actions{plan.Create}
	if sb, ok := snap.Block(sc.Address); ok {
		sc.Before = sb.Revision
		sc.Actions = plan.Actions{plan.NoOp}
		if sb.Revision != sc.After {
			sc.Actions = plan.Actions{plan.Update}
		}
	}
	return sc
}
