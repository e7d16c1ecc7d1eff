package helm

import (
	"context"
	"errors"
	"sort"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// History returns every revision of release name in namespace that Helm's
// storage holds, oldest first, read with one list request (impersonating
// if m does). A release that was never installed, or was uninstalled
// without keeping its history, has none: an empty history is not an error.
func (m *Manager) History(ctx context.Context, name, namespace string) ([]*release.Release, error) {
	cfg, err := m.readConfig(ctx, namespace)
	if err != nil {
		return nil, err
	}
	hist, err := cfg.Releases.History(name)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, err
	}
	sort.Slice(hist, func(i, j int) bool { return hist[i].Version < hist[j].Version })
	return hist, nil
}
