package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/bolt"
	"github.com/strata-gitops/strata/state/kube"
	"github.com/strata-gitops/strata/state/statetest"
)

// stateFile writes a state with 2 kustomizations, 10 objects and a release
// and returns its path and store.
func stateFile(t *testing.T) (string, *bolt.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".strata", "state.db")
	s, err := bolt.Open(bolt.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), statetest.Snapshot(2, 10, "a"), state.WriteOptions{History: &state.HistoryEntry{Operation: "apply", Who: "ci@runner", Added: 10}}); err != nil {
		t.Fatal(err)
	}
	return path, s
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("strata %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func TestStateList(t *testing.T) {
	path, s := stateFile(t)
	snap, _ := s.Read(t.Context())
	tests := map[string]struct {
		args []string
		want []string
	}{
		"all": {nil, []string{
			"kustomization.k000",
			"kustomization.k000/ConfigMap/ns-0/app-000000",
			"kustomization.k000/Deployment.apps/ns-2/app-000002",
			"kustomization.k000/Deployment.apps/ns-4/app-000004",
			"kustomization.k000/Deployment.apps/ns-6/app-000006",
			"kustomization.k000/Deployment.apps/ns-8/app-000008",
			"kustomization.k001",
			"kustomization.k001/ConfigMap/ns-5/app-000005",
			"kustomization.k001/Deployment.apps/ns-1/app-000001",
			"kustomization.k001/Deployment.apps/ns-3/app-000003",
			"kustomization.k001/Deployment.apps/ns-7/app-000007",
			"kustomization.k001/Deployment.apps/ns-9/app-000009",
			"release.kafka",
		}},
		"prefix":       {[]string{"kustomization.k001/Deployment"}, []string{"kustomization.k001/Deployment.apps/ns-1/app-000001", "kustomization.k001/Deployment.apps/ns-3/app-000003", "kustomization.k001/Deployment.apps/ns-7/app-000007", "kustomization.k001/Deployment.apps/ns-9/app-000009"}},
		"block prefix": {[]string{"release."}, []string{"release.kafka"}},
		"id":           {[]string{"--id", snap.Objects[3].UID}, []string{snap.Objects[3].Address}},
		"no match":     {[]string{"source."}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := mustRun(t, append([]string{"state", "list", "--state", path}, tc.args...)...)
			got := strings.Fields(out)
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("state list (-want +got):\n%s", d)
			}
		})
	}
}

func TestStateShow(t *testing.T) {
	path, _ := stateFile(t)
	out := mustRun(t, "state", "show", "--state", path, "release.kafka")
	for _, want := range []string{"# release.kafka", `chart             = "strimzi-kafka-operator"`, "helm_revision     = 3", `depends_on        = [kustomization.k000]`} {
		if !strings.Contains(out, want) {
			t.Errorf("state show release.kafka lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "state", "show", "--state", path, "--json", "kustomization.k000/Deployment.apps/ns-2/app-000002")
	var got struct{ Object state.Object }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Object.Kind != "Deployment" || got.Object.Namespace != "ns-2" || !strings.HasPrefix(got.Object.Digest, "sha256:") {
		t.Errorf("state show --json: %+v", got.Object)
	}
	code, _, errOut := runCLI(t, "state", "show", "--state", path, "kustomization.nope")
	if code != 1 || !strings.Contains(errOut, "no such address in state") {
		t.Errorf("show of a missing address: exit %d, %q", code, errOut)
	}
}

func TestStateRmMvInHistory(t *testing.T) {
	path, s := stateFile(t)
	out := mustRun(t, "state", "mv", "--state", path, "kustomization.k001", "kustomization.renamed")
	if !strings.Contains(out, "Moved kustomization.k001 to kustomization.renamed (5 objects and releases)") {
		t.Errorf("state mv output: %q", out)
	}
	// The next apply rewrites the objects' labels, which name the old block.
	if out := mustRun(t, "state", "show", "--state", path, "kustomization.renamed"); !strings.Contains(out, "moved_from    = [kustomization.k001]") {
		t.Errorf("state show after mv:\n%s", out)
	}
	mustRun(t, "state", "rm", "--state", path, "kustomization.k000/ConfigMap/ns-0/app-000000", "release.kafka")
	snap, err := s.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Block("kustomization.renamed"); !ok || len(snap.BlockObjects("kustomization.renamed")) != 5 {
		t.Errorf("after mv: block or objects missing: %v", snap.Blocks)
	}
	if _, ok := snap.Release("release.kafka"); ok || len(snap.Objects) != 9 {
		t.Errorf("after rm: release still there or %d objects", len(snap.Objects))
	}
	if snap.Serial != 3 {
		t.Errorf("serial %d after two edits, want 3", snap.Serial)
	}
	out = mustRun(t, "state", "history", "--state", path)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("history has %d lines, want a header and 3 entries:\n%s", len(lines), out)
	}
	for i, want := range []string{"apply", "state mv", "state rm"} {
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("history line %d %q lacks %q", i+1, lines[i+1], want)
		}
	}
	if !strings.Contains(lines[2], "kustomization.k001 -> kustomization.renamed") || !strings.Contains(lines[3], "release.kafka") {
		t.Errorf("history lacks the edits' details:\n%s", out)
	}
	// A missing address changes nothing.
	code, _, errOut := runCLI(t, "state", "rm", "--state", path, "kustomization.renamed", "kustomization.nope")
	if code != 1 || !strings.Contains(errOut, "nothing was removed") {
		t.Errorf("rm of a missing address: exit %d, %q", code, errOut)
	}
	if again, _ := s.Read(t.Context()); again.Serial != 3 {
		t.Errorf("a failed rm changed the serial to %d", again.Serial)
	}
}

func TestStatePullPush(t *testing.T) {
	path, s := stateFile(t)
	pulled := mustRun(t, "state", "pull", "--state", path)
	var doc state.Document
	if err := json.Unmarshal([]byte(pulled), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != state.SchemaVersion || doc.Serial != 1 || len(doc.Objects) != 10 || doc.Lineage == "" {
		t.Fatalf("pulled document: version %d serial %d objects %d", doc.FormatVersion, doc.Serial, len(doc.Objects))
	}
	dir := t.TempDir()
	file := func(name string, d state.Document) string {
		b, _ := json.Marshal(d)
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}

	// Pushing what was pulled is a no-op; a newer serial is stored as is.
	mustRun(t, "state", "push", "--state", path, file("same.json", doc))
	newer := doc
	newer.Serial = 5
	newer.Objects = doc.Objects[1:]
	mustRun(t, "state", "push", "--state", path, file("newer.json", newer))
	if snap, _ := s.Read(t.Context()); snap.Serial != 5 || len(snap.Objects) != 9 {
		t.Errorf("after pushing serial 5: serial %d, %d objects", snap.Serial, len(snap.Objects))
	}

	refused := map[string]struct {
		doc  state.Document
		want string
	}{
		"older serial":             {doc, "older"},
		"equal serial, other data": {func() state.Document { d := newer; d.Objects = doc.Objects; return d }(), "same serial with different content"},
		"foreign lineage":          {func() state.Document { d := newer; d.Serial = 9; d.Lineage = state.NewLineage(); return d }(), "lineage"},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			f := file(strings.ReplaceAll(name, " ", "_")+".json", tc.doc)
			code, _, errOut := runCLI(t, "state", "push", "--state", path, f)
			if code != 1 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "--force") {
				t.Errorf("push: exit %d, stderr %q; want a refusal mentioning %q and --force", code, errOut, tc.want)
			}
			if snap, _ := s.Read(t.Context()); snap.Serial != 5 {
				t.Errorf("a refused push changed the serial to %d", snap.Serial)
			}
		})
	}
	mustRun(t, "state", "push", "--state", path, "--force", file("old.json", doc))
	snap, _ := s.Read(t.Context())
	if snap.Serial != 6 || len(snap.Objects) != 10 {
		t.Errorf("after a forced push of serial 1: serial %d, %d objects; want 6 and 10", snap.Serial, len(snap.Objects))
	}
	h, _ := s.History(t.Context())
	if n := len(h); n != 4 || h[n-1].Operation != "state push" || h[n-1].Added != 1 {
		t.Errorf("history after pushes: %+v", h)
	}
}

func TestStateEditWaitsForLock(t *testing.T) {
	path, s := stateFile(t)
	ctx := context.Background()
	id, err := s.Lock(ctx, state.LockInfo{Operation: "apply", Who: "alice@laptop"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "state", "rm", "--state", path, "release.kafka")
	for _, want := range []string{id, "alice@laptop", `"apply"`, "force-unlock"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("locked state rm: stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != 1 {
		t.Errorf("locked state rm: exit %d, want 1", code)
	}
	// Reads do not wait for the lock.
	mustRun(t, "state", "list", "--state", path)

	go func() {
		time.Sleep(500 * time.Millisecond)
		s.Unlock(ctx, id)
	}()
	start := time.Now()
	mustRun(t, "state", "rm", "--state", path, "--lock-timeout", "30s", "release.kafka")
	if time.Since(start) < 400*time.Millisecond {
		t.Errorf("state rm did not wait for the lock")
	}
}

func TestForceUnlock(t *testing.T) {
	path, s := stateFile(t)
	id, err := s.Lock(t.Context(), state.LockInfo{Operation: "apply", Who: "ci@runner"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "force-unlock", "--state", path, "--force", "not-the-id")
	if code != 1 || !strings.Contains(errOut, id) {
		t.Errorf("force-unlock with a wrong ID: exit %d, %q; want an error naming %s", code, errOut, id)
	}
	code, out, _ := runCLI(t, "force-unlock", "--state", path, id)
	if code != 1 || !strings.Contains(out, "ci@runner") {
		t.Errorf("unconfirmed force-unlock: exit %d, %q", code, out)
	}
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader("yes\n"), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := a.run([]string{"force-unlock", "--state", path, id}); code != 0 {
		t.Fatalf("confirmed force-unlock: exit %d: %s", code, stderr.String())
	}
	if held, _ := s.LockStatus(t.Context()); held != nil {
		t.Errorf("lock still held after force-unlock: %+v", held)
	}
}

func TestStateFromStackBackend(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("strata {\n  backend \"local\" { path = \"custom/state.db\" }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := bolt.Open(bolt.Options{Path: filepath.Join(dir, "custom", "state.db")})
	if err := s.Write(t.Context(), statetest.Snapshot(1, 1, "a"), state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "state", "list", "--dir", dir, "release.")
	if strings.TrimSpace(out) != "release.kafka" {
		t.Errorf("state list through the stack's backend: %q", out)
	}
}

// TestStateCommandsRelativeDir runs the state commands on a stack named
// by a relative --dir, as `strata state list` in the stack directory
// (--dir .) and `strata state list --dir examples/quickstart` do: the
// stack's default state file is found (reads) and locked (edits).
func TestStateCommandsRelativeDir(t *testing.T) {
	path, s := stateFile(t)
	s.Close()
	dir := filepath.Dir(filepath.Dir(path))
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("kustomization \"k000\" {\n  path = \".\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "state", "list", "--dir", rel, "release."); strings.TrimSpace(out) != "release.kafka" {
		t.Errorf("state list --dir %s: %q", rel, out)
	}
	mustRun(t, "state", "rm", "--dir", rel, "release.kafka")
	if out := mustRun(t, "state", "list", "--dir", rel, "release."); out != "" {
		t.Errorf("state list after state rm: %q", out)
	}
	if out := mustRun(t, "state", "history", "--dir", rel); !strings.Contains(out, "state rm") {
		t.Errorf("state history --dir %s does not show the rm:\n%s", rel, out)
	}
}

// BenchmarkStateList runs `strata state list` on a state of 100,000
// objects, output discarded.
func BenchmarkStateList(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.db")
	s, _ := bolt.Open(bolt.Options{Path: path})
	if err := s.Write(b.Context(), statetest.Snapshot(100, 100_000, "a"), state.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
		if code := a.run([]string{"state", "list", "--state", path}); code != 0 {
			b.Fatal("exit", code)
		}
	}
}

// TestStateTwoProcesses runs state commands as separate processes against
// a stack's state, local or in the cluster, while this process holds the
// lock: they fail naming the holder, or wait with --lock-timeout.
func TestStateTwoProcesses(t *testing.T) {
	backends := map[string]func(t *testing.T, dir string) state.Store{
		"local": func(t *testing.T, dir string) state.Store {
			os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("strata {\n  backend \"local\" {}\n}\n"), 0o600)
			s, err := bolt.Open(bolt.Options{Path: filepath.Join(dir, bolt.DefaultPath)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"kubernetes": func(t *testing.T, dir string) state.Store {
			c := testcluster.Get(t)
			ns := c.Namespace(t, "state-cli")
			hcl := fmt.Sprintf("strata {\n  backend \"kubernetes\" {\n    namespace  = %q\n    name       = \"platform\"\n    kubeconfig = %q\n  }\n}\n", ns, c.Kubeconfig())
			os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o600)
			s, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: ns, Name: "platform"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			defer s.Close()
			var doc bytes.Buffer
			if err := state.EncodeJSON(&doc, statetest.Snapshot(2, 10, "a"), "test"); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "state.json")
			os.WriteFile(file, doc.Bytes(), 0o600)
			mustRun(t, "state", "push", "--dir", dir, file)

			strata := func(args ...string) (int, string) {
				cmd := exec.Command(os.Args[0], args...)
				cmd.Env = append(os.Environ(), cliChildEnv+"=1")
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatal(err)
				}
				return cmd.ProcessState.ExitCode(), string(out)
			}
			if code, out := strata("state", "list", "--dir", dir, "release."); code != 0 || strings.TrimSpace(out) != "release.kafka" {
				t.Fatalf("state list in a child process: exit %d:\n%s", code, out)
			}
			id, err := s.Lock(t.Context(), state.LockInfo{Operation: "apply", Who: "alice@ci"})
			if err != nil {
				t.Fatal(err)
			}
			code, out := strata("state", "rm", "--dir", dir, "release.kafka")
			if code != 1 {
				t.Errorf("state rm while locked: exit %d, want 1", code)
			}
			for _, want := range []string{id, "alice@ci", `"apply"`} {
				if !strings.Contains(out, want) {
					t.Errorf("lock error lacks %q:\n%s", want, out)
				}
			}
			if code, _ := strata("state", "list", "--dir", dir); code != 0 {
				t.Errorf("state list while locked: exit %d", code)
			}
			go func() {
				time.Sleep(time.Second)
				s.Unlock(context.Background(), id)
			}()
			start := time.Now()
			if code, out := strata("state", "rm", "--dir", dir, "--lock-timeout", "30s", "release.kafka"); code != 0 {
				t.Fatalf("state rm --lock-timeout=30s: exit %d:\n%s", code, out)
			}
			if time.Since(start) < 900*time.Millisecond {
				t.Error("state rm --lock-timeout did not wait for the lock")
			}
			if _, out := strata("state", "history", "--dir", dir); !strings.Contains(out, "state rm") {
				t.Errorf("history lacks the rm:\n%s", out)
			}
		})
	}
}
