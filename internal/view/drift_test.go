package view

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/planner/drift"
)

// TestDriftHumanSymbols: each kind of drifted object has its symbol: ~
// changed, - deleted, + created by an interrupted apply and not recorded.
func TestDriftHumanSymbols(t *testing.T) {
	var b bytes.Buffer
	if err := DriftHuman(&b, fixedDrift(), DriftOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "~ ") || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "+ ") {
			got = append(got, l)
		}
	}
	want := []string{
		"~ kustomization.app/ConfigMap/ns/a edited",
		"- kustomization.app/ConfigMap/ns/b deleted",
		"+ kustomization.app/ConfigMap/ns/c created by an interrupted apply",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("drifted objects (-want +got):\n%s", d)
	}
}

// TestDriftSummaryWithUncheckedBlocks: a report whose blocks could not be
// checked (an API server that is down) does not say "No drift", in any
// format: what was not checked may have drifted. It used to print "No
// drift: 0 objects checked" above the error.
func TestDriftSummaryWithUncheckedBlocks(t *testing.T) {
	r := &drift.Report{Stack: "s", Duration: time.Second, Blocks: []drift.Block{
		{Address: "kustomization.app", Kind: "kustomization", Error: "connection refused"},
		{Address: "kustomization.db", Kind: "kustomization", Checked: 3},
	}}
	var human, md bytes.Buffer
	if err := DriftHuman(&human, r, DriftOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := DriftMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct{ out, want string }{
		"human":    {human.String(), "Drift unknown: 1 block could not be checked (see the errors above); 3 objects checked without drift in 1s.\n"},
		"markdown": {md.String(), "**Drift unknown**: 1 block could not be checked (see below); 3 objects checked without drift.\n"},
	} {
		if !strings.Contains(tt.out, tt.want) || strings.Contains(strings.ToLower(tt.out), "no drift") {
			t.Errorf("%s: want %q and no \"No drift\":\n%s", name, tt.want, tt.out)
		}
	}
	// With drift found elsewhere, the summary still says some blocks were
	// not checked.
	r.Blocks[1].Items = []drift.Item{{Address: "kustomization.db/ConfigMap/ns/a", Kind: drift.Modified, Message: "edited"}}
	human.Reset()
	if err := DriftHuman(&human, r, DriftOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := "1 block could not be checked (see the errors above).\n"; !strings.Contains(human.String(), want) {
		t.Errorf("human: want %q:\n%s", want, human.String())
	}
}
