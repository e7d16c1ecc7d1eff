package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/planner/plan"
)

// runCLI runs strata with args and returns the exit code and outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := a.run(args)
	return code, stdout.String(), stderr.String()
}

func savedPlanFile(t *testing.T) string {
	t.Helper()
	secret := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "creds", "namespace": "demo"},
		"data": map[string]any{"password": "aHVudGVyMg=="}}
	p := &plan.Plan{
		FormatVersion: plan.FormatVersion, StrataVersion: "v0.1.0-test", Stack: "demo", Dir: "/stacks/demo",
		CreatedAt: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		Variables: []plan.Variable{{Name: "environment", Value: json.RawMessage(`"staging"`)}, {Name: "token", Sensitive: true}},
		Changes: []plan.ResourceChange{{
			Address: "kustomization.app/Secret/demo/creds", Block: "kustomization.app", APIVersion: "v1", Kind: "Secret",
			Namespace: "demo", Name: "creds", Actions: plan.Actions{plan.Create},
			After: plan.Mask(secret), Diff: plan.Diff(nil, secret),
		}},
		Blocks: []plan.Block{{Address: "kustomization.app", Kind: "kustomization",
			Objects: []json.RawMessage{json.RawMessage(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds","namespace":"demo"},"data":{"password":"aHVudGVyMg=="}}`)}}},
	}
	file := filepath.Join(t.TempDir(), "plan.out")
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestShowMasksSecrets(t *testing.T) {
	file := savedPlanFile(t)
	for _, format := range []string{"human", "json", "markdown"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := runCLI(t, "show", file, "-o", format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if strings.Contains(out, "aHVudGVyMg") {
				t.Errorf("output holds the Secret value:\n%s", out)
			}
			if !strings.Contains(out, "kustomization.app/Secret/demo/creds") {
				t.Errorf("output lacks the change:\n%s", out)
			}
		})
	}
	_, out, _ := runCLI(t, "show", file)
	for _, want := range []string{`environment = "staging"`, "token = (sensitive value)", "Plan: 1 to add, 0 to change, 0 to destroy."} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}

// TestCorruptPlanRefused checks that show and apply refuse a damaged
// saved plan as such. A damaged first byte used to send apply to the stack
// loader, which reported "not a directory".
func TestCorruptPlanRefused(t *testing.T) {
	tests := map[string]struct {
		damage func(b []byte)
		want   string
	}{
		"payload bit": {func(b []byte) { b[len(b)-20] ^= 0x01 }, "saved plan is corrupt: checksum mismatch"},
		"first byte":  {func(b []byte) { b[0] = 'x' }, "saved plan is corrupt: not a strata plan file"},
		"header line": {func(b []byte) { copy(b, "\x00\x00\x00") }, "saved plan is corrupt: not a strata plan file"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			file := savedPlanFile(t)
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(b)
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"show", "apply"} {
				code, _, errOut := runCLI(t, cmd, file)
				if code != 1 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "directory") {
					t.Errorf("%s: exit %d, stderr %q; want 1 and %q", cmd, code, errOut, tt.want)
				}
			}
		})
	}
}
