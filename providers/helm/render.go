package helm

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/client-go/discovery"
)

// capabilities returns the cluster's kube version and API versions, read
// once and again after every Apply (which may add CRDs, so API versions).
func (m *Manager) capabilities(ctx context.Context) (*chartutil.Capabilities, error) {
	m.caps.mu.Lock()
	defer m.caps.mu.Unlock()
	if m.caps.caps != nil {
		return m.caps.caps, nil
	}
	m.disc.Invalidate()
	disc := discovery.ToDiscoveryInterfaceWithContext(m.disc)
	v, err := disc.ServerVersionWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	apis, err := action.GetVersionSet(boundResources{ServerResourcesInterface: m.disc, ctx: ctx, d: disc})
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("api versions: %w", err)
	}
	m.caps.caps = &chartutil.Capabilities{
		APIVersions: apis,
		KubeVersion: chartutil.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor},
		HelmVersion: chartutil.DefaultCapabilities.HelmVersion,
	}
	return m.caps.caps, nil
}

// forgetCapabilities makes the next plan read the capabilities afresh.
// refreshDiscovery forgets the cached discovery and REST mappings.
func (m *Manager) refreshDiscovery() {
	m.disc.Invalidate()
	m.mapper.Reset()
}

func (m *Manager) forgetCapabilities() {
	m.caps.mu.Lock()
	m.caps.caps = nil
	m.caps.mu.Unlock()
}

// renderOptions says which release a chart is rendered for.
type renderOptions struct {
	name, namespace string
	revision        int
	upgrade         bool
}

// render renders the chart's templates as Helm's install and upgrade do
// (hooks and NOTES.txt left out, manifests in install order) and returns
// the manifest Helm would store in the release, and the chart's hooks.
func (m *Manager) render(ch *chart.Chart, vals map[string]any, o renderOptions, caps *chartutil.Capabilities) (string, []*release.Hook, error) {
	if ch.Metadata == nil {
		return "", nil, fmt.Errorf("chart has no metadata")
	}
	if ch.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return "", nil, fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", ch.Metadata.KubeVersion, caps.KubeVersion.String())
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return "", nil, fmt.Errorf("dependencies: %w", err)
	}
	rv, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, chartutil.ReleaseOptions{
		Name: o.name, Namespace: o.namespace, Revision: o.revision,
		IsInstall: !o.upgrade, IsUpgrade: o.upgrade,
	}, caps, false)
	if err != nil {
		return "", nil, err
	}
	files, err := engine.New(m.config).Render(ch, rv)
	if err != nil {
		return "", nil, err
	}
	for k := range files {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return "", nil, err
	}
	var b bytes.Buffer
	for _, mf := range manifests {
		if err := unnamed(mf); err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", mf.Name, mf.Content)
	}
	return b.String(), hooks, nil
}

// unnamed refuses an object of a release without metadata.name (a
// generateName only): Helm finds a release's objects by name, and fails
// the plan's read and the install alike on an empty one.
func unnamed(mf releaseutil.Manifest) error {
	if mf.Head == nil || mf.Head.Kind == "" || (mf.Head.Metadata != nil && mf.Head.Metadata.Name != "") {
		return nil
	}
	return fmt.Errorf("%s renders a %s without metadata.name (a generateName is not enough): Helm finds the objects of a release by name, so every one needs a name", mf.Name, mf.Head.Kind)
}
