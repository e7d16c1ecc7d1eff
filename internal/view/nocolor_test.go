package view

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/drift"
)

// fixedDrift has drift of every kind, a failed and a suspended block.
func fixedDrift() *drift.Report {
	return &drift.Report{Stack: "s", Duration: time.Second, Blocks: []drift.Block{
		{Address: "kustomization.app", Kind: "kustomization", Notes: []string{"a note"}, Items: []drift.Item{
			{Address: "kustomization.app/ConfigMap/ns/a", Kind: drift.Modified, Message: "edited",
				Fields: []drift.Field{{Path: "data.a", Live: "x", Applied: "y"}, {Path: "data.s", Sensitive: true}}},
			{Address: "kustomization.app/ConfigMap/ns/b", Kind: drift.Deleted, Message: "deleted"},
			{Address: "kustomization.app/ConfigMap/ns/c", Kind: drift.Unrecorded, Message: "created by an interrupted apply"},
		}},
		{Address: "release.web", Kind: "release", Error: "boom"},
		{Address: "release.off", Kind: "release", Suspended: true},
	}}
}

// progressEvents is one event of every kind the apply walk reports.
func progressEvents() []planner.Event {
	pending := []planner.PendingObject{{Ref: "Deployment.apps/ns/web", Status: "InProgress", Message: "0 of 1 ready"}}
	return []planner.Event{
		{Type: planner.BlockStarted, Block: "kustomization.app"},
		{Type: planner.ObjectEvent, Block: "kustomization.app", Object: &planner.ObjectProgress{Type: planner.ObjectApplied, Ref: "ConfigMap/ns/a", Action: "create"}},
		{Type: planner.ObjectEvent, Block: "kustomization.app", Object: &planner.ObjectProgress{Type: planner.ObjectDeleted, Ref: "ConfigMap/ns/b"}},
		{Type: planner.ObjectEvent, Block: "kustomization.app", Object: &planner.ObjectProgress{Type: planner.ObjectSkipped, Ref: "ConfigMap/ns/c", Message: "kept"}},
		{Type: planner.ObjectEvent, Block: "kustomization.app", Object: &planner.ObjectProgress{Type: planner.ObjectWaiting, Pending: pending}},
		{Type: planner.ObjectEvent, Block: "kustomization.app", Object: &planner.ObjectProgress{Type: planner.ObjectNotReady, Ref: "Deployment.apps/ns/web", Message: "crash"}},
		{Type: planner.ReleaseEvent, Block: "release.web", Message: "installing"},
		{Type: planner.BlockDone, Block: "kustomization.app", Added: 1},
		{Type: planner.BlockFailed, Block: "release.web", Err: errors.New("timed out")},
		{Type: planner.BlockSkipped, Block: "release.db", Message: "release.web failed"},
		{Type: planner.LockRenewFailed, Message: "renewing the state lock failed", Err: errors.New("timeout")},
		{Type: planner.LockLost, Err: errors.New("the state lock was lost")},
	}
}

// TestNoEscapesWithoutColor checks that every renderer of the package
// emits no ANSI escape sequence when colour is off, and that the colour
// switch is what decides it for the ones that can colour.
func TestNoEscapesWithoutColor(t *testing.T) {
	one := 1
	status := []planner.BlockStatus{{Kind: "kustomization", Address: "kustomization.app", Ready: "False", Message: "x", Drift: &one}}
	renderers := map[string]func(w io.Writer, color bool) error{
		"plan human":     func(w io.Writer, c bool) error { return Human(w, fixedPlan(), HumanOptions{Color: c}) },
		"plan json":      func(w io.Writer, _ bool) error { return JSON(w, fixedPlan()) },
		"plan markdown":  func(w io.Writer, _ bool) error { return Markdown(w, fixedPlan(), MarkdownOptions{}) },
		"drift human":    func(w io.Writer, c bool) error { return DriftHuman(w, fixedDrift(), DriftOptions{Color: c}) },
		"drift json":     func(w io.Writer, _ bool) error { return DriftJSON(w, fixedDrift()) },
		"drift markdown": func(w io.Writer, _ bool) error { return DriftMarkdown(w, fixedDrift()) },
		"diagnostics": func(w io.Writer, c bool) error {
			return Diagnostics(w, testDiags(), parseDiagSrc(t), DiagOptions{Color: c})
		},
		"diagnostics json": func(w io.Writer, _ bool) error { return DiagnosticsJSON(w, testDiags(), parseDiagSrc(t)) },
		"progress": func(w io.Writer, c bool) error {
			pr := NewProgress(w, c)
			for _, ev := range progressEvents() {
				pr.Event(ev)
			}
			return nil
		},
		"status table": func(w io.Writer, _ bool) error { return StatusTable(w, status) },
		"status json":  func(w io.Writer, _ bool) error { return StatusJSON(w, status) },
	}
	colours := map[string]bool{"plan human": true, "drift human": true, "diagnostics": true, "progress": true}
	for name, render := range renderers {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := render(&b, false); err != nil {
				t.Fatal(err)
			}
			if b.Len() == 0 {
				t.Fatal("no output")
			}
			if strings.Contains(b.String(), "\x1b") {
				t.Errorf("escape sequence with colour off:\n%q", b.String())
			}
			b.Reset()
			_ = render(&b, true)
			if got := strings.Contains(b.String(), "\x1b"); got != colours[name] {
				t.Errorf("escape sequence with colour on = %v, want %v", got, colours[name])
			}
		})
	}
}

// TestUseColor checks the one colour decision: off for a non-terminal,
// with --no-color, NO_COLOR or TERM=dumb.
func TestUseColor(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	if UseColor(&bytes.Buffer{}, env(nil), false) || UseColor(&bytes.Buffer{}, nil, false) {
		t.Error("colour on for a buffer")
	}
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		t.Logf("no controlling terminal (%v): checked the switches on a non-terminal only", err)
		tty = os.Stderr
	} else {
		defer tty.Close()
		if !UseColor(tty, env(nil), false) {
			t.Error("colour off on a terminal")
		}
	}
	for name, off := range map[string]bool{
		"--no-color": UseColor(tty, env(nil), true),
		"NO_COLOR":   UseColor(tty, env(map[string]string{"NO_COLOR": "1"}), false),
		"TERM=dumb":  UseColor(tty, env(map[string]string{"TERM": "dumb"}), false),
	} {
		if off {
			t.Errorf("colour on with %s", name)
		}
	}
}
