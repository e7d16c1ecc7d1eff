package helm

import (
	"context"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/cli-runtime/pkg/resource"

	strkube "github.com/strata-gitops/strata/providers/kube"
)

// waitClient is Helm's kube client with waits replaced by kstatus rules
// (providers/kube's Wait): an object is ready when it is Current, a Failed
// object ends the wait at once, and the wait ends with ctx. Every other
// method is Helm's own.
type waitClient struct {
	*kube.Client
	ctx context.Context
	m   *Manager
}

// Wait waits until every resource is Current, up to timeout.
func (c *waitClient) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return c.wait(resources, timeout)
}

// WaitWithJobs is Wait: kstatus waits for Jobs to complete too.
func (c *waitClient) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return c.wait(resources, timeout)
}

func (c *waitClient) wait(resources kube.ResourceList, timeout time.Duration) error {
	refs := make([]strkube.ObjectRef, 0, len(resources))
	for _, info := range resources {
		refs = append(refs, refOfInfo(info))
	}
	if len(refs) == 0 {
		return nil
	}
	// CRDs created by this operation are new to the cached mapping.
	c.m.kube.ResetMapping()
	return c.m.kube.Wait(c.ctx, refs, strkube.WaitOptions{Timeout: timeout, Interval: c.m.opts.PollInterval}, nil)
}

func refOfInfo(info *resource.Info) strkube.ObjectRef {
	gvk := info.Mapping.GroupVersionKind
	ns := info.Namespace
	if info.Mapping.Scope.Name() != "namespace" {
		ns = ""
	}
	return strkube.ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: ns, Name: info.Name}
}
