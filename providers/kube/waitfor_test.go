package kube_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/providers/kube"
)

func TestWaitFor(t *testing.T) {
	applied := []kube.ObjectRef{{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "applied"}}
	check := kube.HealthCheck{ObjectRef: kube.ObjectRef{Group: "kafka.strimzi.io", Version: "v1beta2", Kind: "Kafka", Namespace: "ns", Name: "k"},
		Condition: "Ready"}
	tests := map[string]struct {
		wait      bool
		checks    []kube.HealthCheck
		wantRefs  []kube.ObjectRef
		wantConds map[kube.ObjectRef]string
	}{
		"wait":                        {wait: true, wantRefs: applied},
		"no wait, no health checks":   {},
		"wait and a health check":     {wait: true, checks: []kube.HealthCheck{check}, wantRefs: append(applied, check.ObjectRef), wantConds: map[kube.ObjectRef]string{check.ObjectRef: "Ready"}},
		"a health check without wait": {checks: []kube.HealthCheck{check}, wantRefs: []kube.ObjectRef{check.ObjectRef}, wantConds: map[kube.ObjectRef]string{check.ObjectRef: "Ready"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			refs, conds := kube.WaitFor(tc.wait, applied, tc.checks)
			if d := cmp.Diff(tc.wantRefs, refs); d != "" {
				t.Errorf("refs (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantConds, conds); d != "" {
				t.Errorf("conditions (-want +got):\n%s", d)
			}
		})
	}
}
