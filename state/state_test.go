package state_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/statetest"
)

func TestCheckWrite(t *testing.T) {
	const l1, l2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	tests := map[string]struct {
		storedLineage string
		storedSerial  uint64
		same          bool
		lineage       string
		serial        uint64
		force         bool
		wantLineage   string
		wantSerial    uint64
		wantChanged   bool
		wantErr       error
	}{
		"first write":               {"", 0, false, "", 0, false, "new", 1, true, nil},
		"unchanged":                 {l1, 4, true, l1, 4, false, l1, 4, false, nil},
		"changed":                   {l1, 4, false, l1, 4, false, l1, 5, true, nil},
		"stale":                     {l1, 4, false, l1, 3, false, "", 0, false, state.ErrStaleSerial},
		"stale but same content":    {l1, 4, true, l1, 3, false, "", 0, false, state.ErrStaleSerial},
		"newer (push)":              {l1, 4, false, l1, 9, false, l1, 9, true, nil},
		"foreign lineage":           {l1, 4, false, l2, 9, false, "", 0, false, state.ErrLineageMismatch},
		"forced foreign older":      {l1, 4, false, l2, 2, true, l2, 5, true, nil},
		"forced newer":              {l1, 4, false, l1, 9, true, l1, 9, true, nil},
		"forced identical":          {l1, 4, true, l1, 4, true, l1, 4, false, nil},
		"push into empty state":     {"", 0, false, l2, 7, false, l2, 7, true, nil},
		"unchanged empty, no write": {"", 0, true, "", 0, false, "", 0, false, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			snap := &state.Snapshot{Lineage: tc.lineage, Serial: tc.serial}
			lineage, serial, changed, err := state.CheckWrite(tc.storedLineage, tc.storedSerial, tc.same, snap, tc.force)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if tc.wantLineage == "new" {
				if len(lineage) != 36 {
					t.Errorf("lineage %q, want a new UUID", lineage)
				}
			} else if lineage != tc.wantLineage {
				t.Errorf("lineage %q, want %q", lineage, tc.wantLineage)
			}
			if serial != tc.wantSerial || changed != tc.wantChanged {
				t.Errorf("serial %d changed %v, want %d %v", serial, changed, tc.wantSerial, tc.wantChanged)
			}
		})
	}
}

func TestMoveAndRemove(t *testing.T) {
	base := func() *state.Snapshot {
		s := statetest.Snapshot(3, 9, "a")
		return s
	}
	t.Run("rename block", func(t *testing.T) {
		s := base()
		n, err := s.Move("kustomization.k000", "kustomization.apps")
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 || len(s.BlockObjects("kustomization.apps")) != 3 || len(s.BlockObjects("kustomization.k000")) != 0 {
			t.Errorf("moved %d; new block has %d objects", n, len(s.BlockObjects("kustomization.apps")))
		}
		if b, _ := s.Block("kustomization.k001"); !cmp.Equal(b.DependsOn, []string{"kustomization.apps"}) {
			t.Errorf("dependency not renamed: %v", b.DependsOn)
		}
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	})
	t.Run("rename release block", func(t *testing.T) {
		s := base()
		if _, err := s.Move("release.kafka", "release.streams"); err != nil {
			t.Fatal(err)
		}
		if r, ok := s.Release("release.streams"); !ok || r.Name != "kafka" {
			t.Errorf("release not moved: %+v", s.Releases)
		}
	})
	t.Run("move object", func(t *testing.T) {
		s := base()
		from := s.BlockObjects("kustomization.k000")[0].Address
		to := strings.Replace(from, "k000", "k002", 1)
		if _, err := s.Move(from, to); err != nil {
			t.Fatal(err)
		}
		if o, ok := s.Object(to); !ok || o.Block != "kustomization.k002" {
			t.Errorf("object not moved: %+v", o)
		}
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	})
	errs := map[string][2]string{
		"missing block":           {"kustomization.nope", "kustomization.x"},
		"existing target":         {"kustomization.k000", "kustomization.k001"},
		"block type change":       {"kustomization.k000", "release.k000"},
		"block to object":         {"kustomization.k000", "kustomization.k001/ConfigMap/a/b"},
		"object renamed":          {"kustomization.k000/ConfigMap/ns-0/app-000000", "kustomization.k001/ConfigMap/ns-0/other"},
		"object to missing block": {"kustomization.k000/ConfigMap/ns-0/app-000000", "kustomization.zzz/ConfigMap/ns-0/app-000000"},
	}
	for name, args := range errs {
		t.Run(name, func(t *testing.T) {
			s := base()
			if _, err := s.Move(args[0], args[1]); err == nil {
				t.Errorf("Move(%q, %q) succeeded", args[0], args[1])
			}
			if d := cmp.Diff(base(), s); d != "" {
				t.Errorf("a failed move changed the snapshot (-want +got):\n%s", d)
			}
		})
	}
	t.Run("remove", func(t *testing.T) {
		s := base()
		if n, ok := s.Remove("release.kafka"); !ok || n != 1 {
			t.Errorf("Remove(release) = %d, %v", n, ok)
		}
		if n, ok := s.Remove("kustomization.k001"); !ok || n != 3 {
			t.Errorf("Remove(block) = %d, %v", n, ok)
		}
		if _, ok := s.Remove("kustomization.nope"); ok {
			t.Error("Remove of a missing address reported success")
		}
		if len(s.Objects) != 6 || len(s.Blocks) != 2 {
			t.Errorf("left %d objects, %d blocks", len(s.Objects), len(s.Blocks))
		}
	})
}

func TestValidate(t *testing.T) {
	tests := map[string]func(*state.Snapshot){
		"duplicate object":  func(s *state.Snapshot) { s.Objects = append(s.Objects, s.Objects[len(s.Objects)-1]) },
		"address mismatch":  func(s *state.Snapshot) { s.Objects[0].Name = "other" },
		"serial no lineage": func(s *state.Snapshot) { s.Serial, s.Lineage = 3, "" },
		"newer version":     func(s *state.Snapshot) { s.Version = state.SchemaVersion + 1 },
		"slash in block":    func(s *state.Snapshot) { s.Blocks[0].Address = "kustomization.a/b" },
	}
	for name, breakIt := range tests {
		t.Run(name, func(t *testing.T) {
			s := statetest.Snapshot(2, 4, "a")
			s.Lineage, s.Serial = state.NewLineage(), 1
			if err := s.Validate(); err != nil {
				t.Fatalf("valid snapshot: %v", err)
			}
			breakIt(s)
			if err := s.Validate(); err == nil {
				t.Error("Validate() = nil")
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	want := statetest.Snapshot(2, 5, "a")
	want.Lineage, want.Serial = state.NewLineage(), 7
	var b strings.Builder
	if err := state.EncodeJSON(&b, want, "v0.1.0"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "null") {
		t.Errorf("JSON holds null:\n%s", b.String())
	}
	got, err := state.DecodeJSON(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	for name, doc := range map[string]string{
		"newer format":  `{"format_version": 2, "lineage": "x", "serial": 1, "blocks": [], "objects": [], "releases": []}`,
		"no format":     `{"lineage": "x", "serial": 1}`,
		"unknown field": `{"format_version": 1, "lineage": "x", "serial": 1, "secrets": {}}`,
	} {
		if _, err := state.DecodeJSON(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: DecodeJSON accepted %s", name, doc)
		}
	}
}
