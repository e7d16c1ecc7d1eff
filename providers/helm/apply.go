package helm

import (
	"context"
	"errors"
)

// Apply carries out a plan and reports progress on events (nil discards
// them). The Result is filled even when an error is returned, describing
// what the release was left as.
func (m *Manager) Apply(ctx context.Context, p *ReleasePlan, events chan<- Event) (*Result, error) {
	return nil, errors.New("helm: apply: not implemented yet")
}

// Uninstall removes a release and its objects; keepHistory keeps its
// revisions in Helm's storage (status uninstalled). A release that does not
// exist is not an error.
func (m *Manager) Uninstall(ctx context.Context, name, namespace string, keepHistory bool, events chan<- Event) (*Result, error) {
	return nil, errors.New("helm: uninstall: not implemented yet")
}
