package planner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/notify"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
)

// TestWatcherNotifiesOncePerChange checks the watcher's de-duplication:
// a notification when drift appears, none while it stays the same, one
// when it goes away, one when a check newly fails and none while it keeps
// failing, with the Changed flag of each check to match.
func TestWatcherNotifiesOncePerChange(t *testing.T) {
	drifted := drift.Block{Address: "kustomization.app", Kind: string(config.KindKustomization),
		Items: []drift.Item{{Address: "kustomization.app/ConfigMap/ns/a", Kind: drift.Modified}}}
	clean := drift.Block{Address: "kustomization.app", Kind: string(config.KindKustomization)}
	failed := drift.Block{Address: "kustomization.app", Kind: string(config.KindKustomization), Error: "boom"}
	checks := []drift.Block{drifted, drifted, clean, failed, failed}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		sent    []string
		changed []bool
		n       int
	)
	w := &Watcher{
		Interval: time.Millisecond,
		Check: func(context.Context, []string) (*drift.Report, *config.Stack, error) {
			if n == len(checks) {
				cancel()
				return nil, nil, ctx.Err()
			}
			n++
			return &drift.Report{Stack: "s", Blocks: []drift.Block{checks[n-1]}}, nil, nil
		},
		OnEvent: func(ev WatchEvent) {
			if ev.Type == WatchChecked {
				changed = append(changed, ev.Changed)
			}
		},
		send: func(_ context.Context, _ *config.Stack, ev notify.Event) error {
			sent = append(sent, ev.Type)
			return nil
		},
	}
	if err := w.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]string{notify.Drift, notify.Recovered, notify.Error}, sent); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, false, true, true, false}, changed); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
}

// TestWatcherCorrects checks that drifted kustomizations and releases are
// given to Correct, and that a failed correction is reported and notified.
func TestWatcherCorrects(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep := &drift.Report{Stack: "s", Blocks: []drift.Block{
		{Address: "source.git.repo", Kind: string(config.KindSource), Items: []drift.Item{{Address: "source.git.repo", Kind: drift.SourceMoved}}},
		{Address: "release.web", Kind: string(config.KindRelease), Items: []drift.Item{{Address: "release.web", Kind: drift.Release}}},
	}}
	var (
		corrected [][]string
		events    []WatchEventType
		sent      []string
	)
	w := &Watcher{
		Interval: time.Hour,
		Check:    func(context.Context, []string) (*drift.Report, *config.Stack, error) { return rep, nil, nil },
		Correct: func(_ context.Context, blocks []string) error {
			corrected = append(corrected, blocks)
			return errors.New("apply failed")
		},
		OnEvent: func(ev WatchEvent) {
			events = append(events, ev.Type)
			if ev.Type == WatchCorrectFailed {
				cancel()
			}
		},
		send: func(_ context.Context, _ *config.Stack, ev notify.Event) error {
			sent = append(sent, ev.Type)
			return nil
		},
	}
	_ = w.Run(ctx)
	if diff := cmp.Diff([][]string{{"release.web"}}, corrected); diff != "" {
		t.Errorf("corrected (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]WatchEventType{WatchChecked, WatchCorrectFailed}, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{notify.Drift, notify.Drift, notify.Error}, sent); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}
