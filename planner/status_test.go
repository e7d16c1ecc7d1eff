package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/state"
)

// TestStatusReadiness is the table of strata status's readiness rules:
// from the state, then from a drift check of an applied block.
func TestStatusReadiness(t *testing.T) {
	two := 2
	tests := []struct {
		name      string
		suspend   bool
		sb        state.Block
		applied   bool
		drift     *drift.Block
		ready     string
		message   string
		driftSeen *int
	}{
		{name: "not applied", ready: ReadyFalse, message: "not applied yet"},
		{name: "failed", applied: true, sb: state.Block{Status: state.StatusFailed}, ready: ReadyFalse, message: "last apply failed"},
		{name: "revision", applied: true, sb: state.Block{Revision: "main@sha1:abc"}, ready: ReadyTrue, message: "applied revision main@sha1:abc"},
		{name: "applied", applied: true, ready: ReadyTrue, message: "applied"},
		{name: "suspended", suspend: true, applied: true, ready: ReadyTrue, message: "suspended; applied"},
		{name: "release drift", applied: true, ready: ReadyFalse, message: "upgraded outside strata", driftSeen: &two,
			drift: &drift.Block{Items: []drift.Item{{Kind: drift.Modified}, {Kind: drift.Release, Message: "upgraded outside strata"}}}},
		{name: "deleted", applied: true, ready: ReadyFalse, message: "2 objects deleted outside strata", driftSeen: &two,
			drift: &drift.Block{Items: []drift.Item{{Kind: drift.Deleted}, {Kind: drift.Deleted}}}},
		{name: "check failed", applied: true, ready: ReadyUnknown, message: "drift check failed: boom",
			drift: &drift.Block{Error: "boom"}},
		{name: "suspended drift ignored", applied: true, ready: ReadyTrue, message: "applied",
			drift: &drift.Block{Suspended: true, Items: []drift.Item{{Kind: drift.Deleted}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &config.Kustomization{Name: "app", Suspend: tt.suspend}
			l := appliedStatus(b, tt.sb, tt.applied)
			if tt.applied {
				driftStatus(&l, tt.drift)
			}
			if l.Kind != "kustomization" || l.Address != "kustomization.app" {
				t.Errorf("kind, address = %q, %q", l.Kind, l.Address)
			}
			if l.Ready != tt.ready || l.Message != tt.message {
				t.Errorf("ready, message = %q, %q; want %q, %q", l.Ready, l.Message, tt.ready, tt.message)
			}
			if diff := cmp.Diff(tt.driftSeen, l.Drift); diff != "" {
				t.Errorf("drift (-want +got):\n%s", diff)
			}
		})
	}
}
