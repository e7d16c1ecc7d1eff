package helm

import (
	"fmt"
	"runtime/debug"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// RenderedObject is an object of a chart rendered offline and the template
// it comes from ("web/templates/service.yaml").
type RenderedObject struct {
	Template string
	Object   *unstructured.Unstructured
}

// RenderOffline renders the chart and values of spec without a cluster,
// for checks before a plan: the capabilities are Helm's defaults with the
// Kubernetes version of the client libraries strata is built with, lookup
// finds nothing, the chart's kubeVersion is not checked, and hooks are left
// out. It returns the release's objects in install order, or an
// *UnnamedHookError for a hook without a name that the install runs
// (unless spec.DisableHooks) or that the remediation of a failed install
// or upgrade runs from this chart: the uninstall's delete hooks (unless
// spec.Uninstall.DisableHooks), as Manager.Plan refuses them. A rollback
// runs the hooks of the deployed revision, which only the cluster holds:
// they are not checked here.
func RenderOffline(spec ReleaseSpec) ([]RenderedObject, error) {
	ch, err := loadChart(spec)
	if err != nil {
		return nil, err
	}
	vals, err := MergeValues(spec.ValuesFiles, spec.ValuesFrom, spec.Values)
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, fmt.Errorf("dependencies: %w", err)
	}
	rv, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, chartutil.ReleaseOptions{
		Name: spec.Name, Namespace: spec.Namespace, Revision: 1, IsInstall: true,
	}, offlineCapabilities(), false)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	for k := range files {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	if err := unnamedHook(hooks, ActionInstall, spec.DisableHooks); err != nil {
		return nil, err
	}
	for _, action := range []Action{ActionInstall, ActionUpgrade} {
		if err := unnamedRemediationHook(spec, action, hooks, nil); err != nil {
			return nil, err
		}
	}
	var out []RenderedObject
	for _, mf := range manifests {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(mf.Content), &obj); err != nil {
			return nil, fmt.Errorf("template %s renders invalid YAML: %w", mf.Name, err)
		}
		if len(obj) == 0 {
			continue
		}
		out = append(out, RenderedObject{Template: mf.Name, Object: &unstructured.Unstructured{Object: obj}})
	}
	return out, nil
}

// offlineCapabilities are Helm's default capabilities with the Kubernetes
// version of k8s.io/apimachinery (v0.N.x is Kubernetes 1.N.x).
func offlineCapabilities() *chartutil.Capabilities {
	caps := chartutil.DefaultCapabilities.Copy()
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return caps
	}
	for _, d := range info.Deps {
		if d.Path != "k8s.io/apimachinery" || !strings.HasPrefix(d.Version, "v0.") {
			continue
		}
		parts := strings.SplitN(strings.TrimPrefix(d.Version, "v0."), ".", 2)
		if len(parts) == 2 {
			caps.KubeVersion = chartutil.KubeVersion{Version: "v1." + parts[0] + ".0", Major: "1", Minor: parts[0]}
		}
	}
	return caps
}
