package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	dep := func(image string, replicas any) map[string]any {
		return map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "resourceVersion": "12",
				"labels": map[string]any{"app.kubernetes.io/name": "web"}},
			"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "web", "image": image}}}}},
			"status": map[string]any{"readyReplicas": int64(1)},
		}
	}
	secret := func(v string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": "creds"}, "data": map[string]any{"password": v, "user": "YWRtaW4="}}
	}
	tests := map[string]struct {
		before, after map[string]any
		want          []FieldDiff
	}{
		"equal": {before: dep("nginx:1", int64(1)), after: dep("nginx:1", int64(1))},
		"image and replicas": {
			before: dep("nginx:1", int64(1)), after: dep("nginx:2", int64(3)),
			want: []FieldDiff{
				{Path: "spec.replicas", Op: OpChange, Before: int64(1), After: int64(3)},
				{Path: "spec.template.spec.containers[0].image", Op: OpChange, Before: "nginx:1", After: "nginx:2"},
			},
		},
		"server fields ignored": {
			before: dep("nginx:1", int64(1)),
			after: func() map[string]any {
				d := dep("nginx:1", int64(1))
				d["metadata"].(map[string]any)["resourceVersion"] = "99"
				d["status"] = map[string]any{"readyReplicas": int64(3)}
				return d
			}(),
		},
		"create": {
			after: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "labels": map[string]any{"a.b/c": "x"}}},
			want: []FieldDiff{
				{Path: "apiVersion", Op: OpAdd, After: "v1"},
				{Path: "kind", Op: OpAdd, After: "ConfigMap"},
				{Path: `metadata.labels["a.b/c"]`, Op: OpAdd, After: "x"},
				{Path: "metadata.name", Op: OpAdd, After: "c"},
			},
		},
		"list items sort by index": {
			before: map[string]any{"l": []any{"a"}},
			after:  map[string]any{"l": []any{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}},
			want: func() []FieldDiff {
				var w []FieldDiff
				for i, v := range []string{"b", "c", "d", "e", "f", "g", "h", "i", "j", "k"} {
					w = append(w, FieldDiff{Path: "l[" + string(rune('1'+i)) + "]", Op: OpAdd, After: v})
				}
				w[9].Path = "l[10]"
				return w
			}(),
		},
		"secret values never copied": {
			before: secret("b2xk"), after: secret("bmV3"),
			want: []FieldDiff{{Path: "data.password", Op: OpChange, Sensitive: true}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Diff(tc.before, tc.after)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMask(t *testing.T) {
	s := map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "creds", "annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"password":"c2VjcmV0"}}`}},
		"data":       map[string]any{"password": "c2VjcmV0"},
		"stringData": map[string]any{"token": "hunter2"}}
	got := Mask(s)
	b, _ := json.Marshal(got)
	for _, leak := range []string{"c2VjcmV0", "hunter2"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("Mask left %q in %s", leak, b)
		}
	}
	if s["data"].(map[string]any)["password"] != "c2VjcmV0" {
		t.Error("Mask changed its input")
	}
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": "v"}}
	if diff := cmp.Diff(cm, Mask(cm)); diff != "" {
		t.Errorf("Mask changed a ConfigMap (-want +got):\n%s", diff)
	}
}

func TestSummary(t *testing.T) {
	p := &Plan{
		Changes: []ResourceChange{
			{Actions: Actions{Create}}, {Actions: Actions{Update}}, {Actions: Actions{Delete}},
			{Actions: Replace}, {Actions: Actions{NoOp}},
		},
		Releases: []ReleaseChange{{Actions: Actions{Install}}, {Actions: Actions{Upgrade}}, {Actions: Actions{Uninstall}}},
		Sources:  []SourceChange{{Actions: Actions{Update}}, {Actions: Actions{NoOp}}},
		Drift:    []Drift{{}},
	}
	want := Summary{Add: 3, Change: 2, Destroy: 3, ReleaseUpgrades: 1, Drifted: 1, Sources: 1}
	if diff := cmp.Diff(want, p.Summary()); diff != "" {
		t.Errorf("Summary (-want +got):\n%s", diff)
	}
	if !p.HasChanges() {
		t.Error("HasChanges = false")
	}
	if (&Plan{Changes: []ResourceChange{{Actions: Actions{NoOp}}}}).HasChanges() {
		t.Error("HasChanges of a no-op plan = true")
	}
}

func testPlan() *Plan {
	return &Plan{
		FormatVersion: FormatVersion, StrataVersion: "v0.1.0-test",
		CreatedAt: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		State:     StateRef{Lineage: "0b7e", Serial: 4},
		Variables: []Variable{{Name: "env", Value: json.RawMessage(`"dev"`)}, {Name: "token", Sensitive: true}},
		Changes:   []ResourceChange{{Address: "kustomization.app/ConfigMap/demo/c", Actions: Actions{Create}, LiveResourceVersion: ""}},
		Blocks: []Block{{Address: "kustomization.app", Kind: "kustomization",
			Objects: []json.RawMessage{json.RawMessage(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"demo"}}`)}}},
	}
}

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.out")
	want := testPlan()
	want.Errors = []Error{{Address: "kustomization.app/ConfigMap/demo/c", File: "app/cm.yaml", Line: 7, Message: "refused"}}
	want.PolicyResults = []PolicyResult{{Policy: "webhook/w", Enforcement: Mandatory, Address: "kustomization.app/ConfigMap/demo/c",
		File: "app/cm.yaml", Line: 7, Message: "denied", Source: SourceAdmission}}
	if err := WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestFileCorrupt(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, testPlan()); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	header := bytes.IndexByte(good, '\n') + 1
	// Flip one bit of every byte in turn, header and payload.
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		p, err := Read(bytes.NewReader(b))
		if err == nil {
			t.Fatalf("byte %d flipped: Read accepted the file: %+v", i, p)
		}
		if i >= header && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: err = %v, want ErrCorrupt", i, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-10],
		"foreign":   []byte("hello world\n"),
	} {
		if _, err := Read(bytes.NewReader(b)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

// rechecksum returns a saved plan whose payload was replaced by an edited
// plan and whose checksum was computed again, as anyone who can write the
// file can do; the signature field, if any, is kept.
func rechecksum(t *testing.T, signed []byte, edited *Plan) []byte {
	t.Helper()
	var fresh bytes.Buffer
	if err := Write(&fresh, edited); err != nil {
		t.Fatal(err)
	}
	freshHeader, payload, _ := bytes.Cut(fresh.Bytes(), []byte("\n"))
	header, _, _ := bytes.Cut(signed, []byte("\n"))
	fields := strings.Fields(string(header))
	fields[2] = strings.Fields(string(freshHeader))[2]
	return append([]byte(strings.Join(fields, " ")+"\n"), payload...)
}

// TestFileSignature checks what the checksum and the signature promise: an
// edited plan with a recomputed checksum is accepted without a key (the
// checksum only detects damage) and refused with one.
func TestFileSignature(t *testing.T) {
	key, err := NewKey([]byte(strings.Repeat("k", MinKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKey([]byte(strings.Repeat("o", MinKeySize)))
	var signed, unsigned bytes.Buffer
	if err := key.Write(&signed, testPlan()); err != nil {
		t.Fatal(err)
	}
	if err := Write(&unsigned, testPlan()); err != nil {
		t.Fatal(err)
	}
	edited := testPlan()
	edited.Changes[0].Name = "evil"
	tampered := rechecksum(t, signed.Bytes(), edited)
	if _, err := Read(bytes.NewReader(tampered)); err != nil {
		t.Fatalf("the zero key refused an edited plan with a good checksum: %v", err)
	}

	tests := map[string]struct {
		key     Key
		file    []byte
		wantErr error
	}{
		"signed, same key":         {key: key, file: signed.Bytes()},
		"signed, no key":           {key: Key{}, file: signed.Bytes()},
		"unsigned, no key":         {key: Key{}, file: unsigned.Bytes()},
		"unsigned, key":            {key: key, file: unsigned.Bytes(), wantErr: ErrSignature},
		"signed, other key":        {key: other, file: signed.Bytes(), wantErr: ErrSignature},
		"edited and rechecksummed": {key: key, file: tampered, wantErr: ErrSignature},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := tt.key.Read(bytes.NewReader(tt.file))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if diff := cmp.Diff(testPlan(), p); diff != "" {
					t.Errorf("plan (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := NewKey([]byte("short")); err == nil {
		t.Error("NewKey accepted a 5-byte key")
	}
}

func TestFileNewerVersion(t *testing.T) {
	p := testPlan()
	p.FormatVersion = "2.0"
	var buf bytes.Buffer
	if err := Write(&buf, p); err != nil {
		t.Fatal(err)
	}
	_, err := Read(&buf)
	if err == nil || !strings.Contains(err.Error(), "format version 2.0") {
		t.Errorf("err = %v, want a version error", err)
	}
}
