package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestPlanApplyCLI runs the quickstart flow through the command line: a
// plan with --detailed-exitcode exits 2 and saves the plan, show renders
// it, apply FILE carries it out, and the next plan exits 0 with no changes.
func TestPlanApplyCLI(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "cli")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("cli"))
	files := map[string]string{
		"main.hcl": `variable "color" {
  type    = string
  default = "blue"
}
kustomization "app" {
  path       = "app"
  substitute = { color = var.color }
}
`,
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  color: ${color}\n",
	}
	writeFiles(t, dir, files)
	kc := "--kubeconfig=" + c.Kubeconfig()
	out := filepath.Join(t.TempDir(), "plan.out")

	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode", "--out", out)
	if code != 2 {
		t.Fatalf("plan: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Plan: 1 to add, 0 to change, 0 to destroy.") {
		t.Errorf("plan output:\n%s", stdout)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("saved plan mode %v, want 0600", fi.Mode().Perm())
	}

	code, stdout, stderr = runCLI(t, "show", out, "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"format_version": "1.0"`) || !strings.Contains(stdout, `"has_changes": true`) {
		t.Fatalf("show -o json: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, "apply", out, kc)
	if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 1 added, 0 changed, 0 destroyed.") {
		t.Fatalf("apply FILE: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode")
	if code != 0 || !strings.Contains(stdout, "No changes. The cluster matches the stack.") {
		t.Fatalf("second plan: exit %d\n%s%s", code, stdout, stderr)
	}

	// Applying the same saved plan again is refused: the state moved.
	code, _, stderr = runCLI(t, "apply", out, kc)
	if code != 1 || !strings.Contains(stderr, "saved plan is stale") {
		t.Errorf("re-applying a used plan: exit %d, stderr %q", code, stderr)
	}

	// Without a terminal, apply asks for --auto-approve instead of waiting.
	code, _, stderr = runCLI(t, "apply", dir, kc, "--var", "color=red")
	if code != 1 || !strings.Contains(stderr, "--auto-approve") {
		t.Errorf("apply without a terminal: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--var", "color=red", "--auto-approve", "--parallelism=2")
	if code != 0 || !strings.Contains(stdout, "0 added, 1 changed") {
		t.Errorf("apply --auto-approve: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, "destroy", dir, kc, "--auto-approve", "--var", "color=red")
	if code != 0 || !strings.Contains(stdout, "Destroy complete! Objects: 0 added, 0 changed, 1 destroyed.") {
		t.Errorf("destroy: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestApplyFailureNotifies checks that a failed apply, direct or of a saved
// plan, sends one error event naming the failed block to the stack's
// notification blocks, with no secret in it.
func TestApplyFailureNotifies(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "afail")
	hook := &hookReceiver{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("afail"))
	files := map[string]string{
		"main.hcl": `
notification "ops" {
  type   = "webhook"
  url    = "` + srv.URL + `/hooks/SECRET-PATH-TOKEN"
  events = ["error"]
}
kustomization "app" {
  path    = "app"
  wait    = true
  timeout = "3s"
}
`,
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [objects.yaml]\n",
		"app/objects.yaml": `apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: topsecret-in-git}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {strata.dev/no-such-node: "true"}
      containers: [{name: app, image: nginx:1.27}]
`,
	}
	writeFiles(t, dir, files)
	kc := "--kubeconfig=" + c.Kubeconfig()
	check := func(name string, wantEvents int) {
		t.Helper()
		got := hook.got()
		if len(got) != wantEvents {
			t.Fatalf("%s: %d notifications, want %d: %q", name, len(got), wantEvents, got)
		}
		var ev struct{ Event, Stack, Block, Summary string }
		body := got[len(got)-1]
		if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &ev); err != nil {
			t.Fatalf("%s: %v: %s", name, err, body)
		}
		if ev.Event != "error" || ev.Block != "kustomization.app" || !strings.Contains(ev.Summary, "Deployment.apps/"+ns+"/stuck") {
			t.Errorf("%s: notification %+v, want an error for kustomization.app naming the Deployment", name, ev)
		}
		for _, secret := range []string{"topsecret", "dG9wc2VjcmV0", "SECRET-PATH-TOKEN"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: notification contains %q: %s", name, secret, body)
			}
		}
	}

	code, stdout, stderr := runStrata(t, "", "apply", "--auto-approve", kc, dir)
	if code != 1 {
		t.Fatalf("apply: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	check("apply", 1)

	// A saved plan: the notification URL comes from the stack, not the plan.
	c.Kubectl(t, "-n", ns, "delete", "deployment", "stuck", "--wait")
	out := filepath.Join(t.TempDir(), "plan.out")
	if code, stdout, stderr := runStrata(t, "", "plan", "--out", out, kc, dir); code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout, stderr)
	}
	if data, err := os.ReadFile(out); err != nil || strings.Contains(string(data), "SECRET-PATH-TOKEN") {
		t.Fatalf("saved plan holds the notification URL (or cannot be read: %v)", err)
	}
	if code, stdout, stderr := runStrata(t, "", "apply", kc, out); code != 1 {
		t.Fatalf("apply FILE: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	check("apply FILE", 2)
}

// runCLIEnv is runCLI with environment variables.
func runCLIEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	code := a.run(args)
	return code, stdout.String(), stderr.String()
}

// planJSON returns the decompressed payload of the saved plan at file.
func planJSON(t *testing.T, file string) []byte {
	t.Helper()
	_, payload, _ := bytes.Cut(mustRead(t, file), []byte("\n"))
	zr, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// tamperPlan replaces old by new in the plan saved at file and computes
// the checksum again, keeping the rest of the header (the signature), as
// anyone who can write the file can.
func tamperPlan(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := bytes.Cut(b, []byte("\n"))
	js := planJSON(t, file)
	if !bytes.Contains(js, []byte(old)) {
		t.Fatalf("the saved plan holds no %q", old)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.ReplaceAll(js, []byte(old), []byte(new)))
	zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	fields := strings.Fields(string(header))
	fields[2] = "sha256:" + hex.EncodeToString(sum[:])
	out := append([]byte(strings.Join(fields, " ")+"\n"), buf.Bytes()...)
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSignedPlanCLI checks saved-plan signing with $STRATA_PLAN_KEY: plan
// --out signs, apply FILE refuses an edited plan whose checksum was
// computed again, and an unsigned plan, before changing anything, and
// applies the genuine one.
func TestSignedPlanCLI(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "signed")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("signed"))
	writeFiles(t, dir, map[string]string{
		"main.hcl":    "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  color: blue\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	env := map[string]string{planKeyEnv: strings.Repeat("0123456789abcdef", 4)}
	tmp := t.TempDir()
	signed, tampered, unsigned := filepath.Join(tmp, "signed.out"), filepath.Join(tmp, "tampered.out"), filepath.Join(tmp, "unsigned.out")

	code, stdout, stderr := runCLIEnv(t, env, "plan", dir, kc, "--out", signed)
	if code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, env[planKeyEnv]) || strings.Contains(string(planJSON(t, signed)), env[planKeyEnv]) {
		t.Error("the key is in the output or in the saved plan")
	}
	if code, stdout, stderr := runCLI(t, "plan", dir, kc, "--out", unsigned); code != 0 {
		t.Fatalf("plan --out without a key: exit %d\n%s%s", code, stdout, stderr)
	}
	if header, _, _ := bytes.Cut(mustRead(t, signed), []byte("\n")); !strings.Contains(string(header), " hmac-sha256:") {
		t.Fatalf("signed plan header %q has no signature", header)
	}
	copyFile(t, signed, tampered)
	tamperPlan(t, tampered, `"blue"`, `"evil"`)

	for name, tt := range map[string]struct{ file, want string }{
		"tampered": {tampered, "saved plan signature is not valid: the plan was changed after it was signed"},
		"unsigned": {unsigned, "saved plan signature is not valid: the plan is not signed"},
	} {
		for _, args := range [][]string{{"show", tt.file}, {"apply", tt.file, kc}} {
			code, _, stderr := runCLIEnv(t, env, args...)
			if code != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("%s %s: exit %d, stderr %q; want 1 and %q", args[0], name, code, stderr, tt.want)
			}
		}
	}
	if out := c.Kubectl(t, "get", "configmap", "-n", ns, "-o", "name"); strings.Contains(out, "settings") {
		t.Fatalf("a refused plan changed the cluster: %s", out)
	}
	if code, _, stderr := runCLIEnv(t, map[string]string{planKeyEnv: "short"}, "show", signed); code != 1 || !strings.Contains(stderr, "STRATA_PLAN_KEY: plan signing key is too short") {
		t.Errorf("show with a short key: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr = runCLIEnv(t, env, "apply", signed, kc)
	if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 1 added") {
		t.Fatalf("apply of the signed plan: exit %d\n%s%s", code, stdout, stderr)
	}
	if out := c.Kubectl(t, "get", "configmap", "settings", "-n", ns, "-o", "jsonpath={.data.color}"); out != "blue" {
		t.Errorf("color = %q, want blue", out)
	}
}
