package helm

import (
	"context"
	"errors"
)

// Plan renders spec and compares it with the deployed release and the live
// cluster. It changes nothing.
func (m *Manager) Plan(ctx context.Context, spec ReleaseSpec) (*ReleasePlan, error) {
	return nil, errors.New("helm: plan: not implemented yet")
}

// PlanUninstall plans the removal of a release that left the stack: its
// objects become deletes. A release that does not exist plans a no-op.
func (m *Manager) PlanUninstall(ctx context.Context, name, namespace string) (*ReleasePlan, error) {
	return nil, errors.New("helm: plan: not implemented yet")
}
