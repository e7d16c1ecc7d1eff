package fake

import (
	"context"
	"fmt"
	"sync"

	"github.com/strata-gitops/strata/providers/git"
	"github.com/strata-gitops/strata/providers/helmrepo"
	"github.com/strata-gitops/strata/providers/source"
)

// Git serves Git sources from local directories, by URL. It is safe for
// concurrent use.
type Git struct {
	mu    sync.Mutex
	repos map[string]source.Artifact
	calls int
}

// NewGit returns a Git without repositories.
func NewGit() *Git { return &Git{repos: map[string]source.Artifact{}} }

// Set serves the tree dir at revision for url.
func (g *Git) Set(url, dir, revision string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.repos[url] = source.Artifact{Dir: dir, Revision: revision}
}

// Fetches returns how many fetches and resolves were asked for.
func (g *Git) Fetches() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// Fetch returns the tree served for spec.URL.
func (g *Git) Fetch(_ context.Context, spec git.Spec) (*source.Artifact, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	a, ok := g.repos[spec.URL]
	if !ok {
		return nil, fmt.Errorf("repository %s not found", spec.URL)
	}
	return &a, nil
}

// Resolve returns the revision served for spec.URL.
func (g *Git) Resolve(ctx context.Context, spec git.Spec) (git.Resolved, error) {
	a, err := g.Fetch(ctx, spec)
	if err != nil {
		return git.Resolved{}, err
	}
	return git.Resolved{Revision: a.Revision}, nil
}

// Charts serves chart archives from local files, by chart name. It is
// safe for concurrent use.
type Charts struct {
	mu     sync.Mutex
	charts map[string]helmrepo.Chart
}

// NewCharts returns Charts without charts.
func NewCharts() *Charts { return &Charts{charts: map[string]helmrepo.Chart{}} }

// Set serves the chart archive at path as chart name, version.
func (c *Charts) Set(name, version, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.charts[name] = helmrepo.Chart{ChartVersion: helmrepo.ChartVersion{Name: name, Version: version,
		Digest: "sha256:" + fmt.Sprintf("%064x", len(c.charts)+1)}, Path: path}
}

// Pull returns the chart served as ref.Name.
func (c *Charts) Pull(_ context.Context, _ helmrepo.Spec, ref helmrepo.ChartRef) (*helmrepo.Chart, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.charts[ref.Name]
	if !ok {
		return nil, fmt.Errorf("chart %s not found", ref.Name)
	}
	return &ch, nil
}

// Resolve returns the version of the chart served as ref.Name.
func (c *Charts) Resolve(ctx context.Context, spec helmrepo.Spec, ref helmrepo.ChartRef) (helmrepo.ChartVersion, error) {
	ch, err := c.Pull(ctx, spec, ref)
	if err != nil {
		return helmrepo.ChartVersion{}, err
	}
	return ch.ChartVersion, nil
}
