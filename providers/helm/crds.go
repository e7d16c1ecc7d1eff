package helm

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/releaseutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"sigs.k8s.io/yaml"

	strkube "github.com/strata-gitops/strata/providers/kube"
)

var (
	crdResource       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	namespaceResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	getOptions        = metav1.GetOptions{}
)

// chartCRDs parses the CRDs of a chart's crds/ directories (subcharts too).
func chartCRDs(ch *chart.Chart) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, crd := range ch.CRDObjects() {
		for _, doc := range releaseutil.SplitManifests(string(crd.File.Data)) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil || len(u.Object) == 0 {
				continue
			}
			out = append(out, u)
		}
	}
	return out
}

// specFields keeps the diff of a CRD's spec: metadata and status are the
// server's or Helm's business.
func specFields(fields []strkube.FieldDiff) []strkube.FieldDiff {
	var out []strkube.FieldDiff
	for _, f := range fields {
		if f.Path == "spec" || strings.HasPrefix(f.Path, "spec.") || strings.HasPrefix(f.Path, "spec[") {
			out = append(out, f)
		}
	}
	return out
}

// applyCRDs creates the chart's missing CRDs and, when replace is set,
// replaces existing ones; then waits until they are Established. It returns
// how many it wrote.
func (m *Manager) applyCRDs(ctx context.Context, cfg *action.Configuration, ch *chart.Chart, replace bool) (int, error) {
	var written []*resource.Info
	for _, crd := range ch.CRDObjects() {
		infos, err := cfg.KubeClient.Build(bytes.NewReader(crd.File.Data), false)
		if err != nil {
			return 0, fmt.Errorf("crd %s: %w", crd.Filename, err)
		}
		for _, info := range infos {
			helper := resource.NewHelper(info.Client, info.Mapping)
			live, err := helper.Get(info.Namespace, info.Name)
			switch {
			case apierrors.IsNotFound(err):
				if _, err := helper.Create(info.Namespace, true, info.Object); err != nil {
					return 0, fmt.Errorf("create crd %s: %w", info.Name, err)
				}
			case err != nil:
				return 0, fmt.Errorf("get crd %s: %w", info.Name, err)
			case replace:
				lu, err := toUnstructured(live)
				if err != nil {
					return 0, err
				}
				obj, err := toUnstructured(info.Object)
				if err != nil {
					return 0, err
				}
				obj = obj.DeepCopy()
				obj.SetResourceVersion(lu.GetResourceVersion())
				if _, err := helper.Replace(info.Namespace, info.Name, true, obj); err != nil {
					return 0, fmt.Errorf("replace crd %s: %w", info.Name, err)
				}
			default:
				continue
			}
			written = append(written, info)
		}
	}
	if len(written) == 0 {
		return 0, nil
	}
	if err := cfg.KubeClient.Wait(written, m.opts.DefaultTimeout); err != nil {
		return 0, fmt.Errorf("crds not established: %w", err)
	}
	if err := m.waitServed(ctx, written, m.opts.DefaultTimeout); err != nil {
		return 0, err
	}
	m.refreshDiscovery()
	m.kube.ResetMapping()
	return len(written), nil
}

// waitServed waits until discovery lists the kinds of the CRDs: the API
// server publishes a kind a moment after its CRD is Established, and an
// install that maps the release's objects in that moment fails with "no
// matches for kind".
func (m *Manager) waitServed(ctx context.Context, crds []*resource.Info, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, info := range crds {
		u, err := toUnstructured(info.Object)
		if err != nil {
			return err
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
		for _, v := range versions {
			vm, _ := v.(map[string]any)
			name, _ := vm["name"].(string)
			if served, _ := vm["served"].(bool); !served || name == "" {
				continue
			}
			gv := schema.GroupVersion{Group: group, Version: name}.String()
			for !m.serves(gv, kind) {
				select {
				case <-ctx.Done():
					return fmt.Errorf("crd %s: kind %s in %s not served within %s", info.Name, kind, gv, timeout)
				case <-time.After(100 * time.Millisecond):
				}
				m.disc.Invalidate()
			}
		}
	}
	return nil
}

// serves reports whether discovery lists kind in the group version gv.
func (m *Manager) serves(gv, kind string) bool {
	list, err := m.disc.ServerResourcesForGroupVersion(gv)
	if err != nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Kind == kind {
			return true
		}
	}
	return false
}
