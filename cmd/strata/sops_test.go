package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	sopstool "github.com/strata-gitops/strata/internal/cmd/sops"
	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
)

// The secrets TestSOPSSecretsNeverShown plants, one per path into the
// cluster.
const (
	sopsManifestSecret = "sops-Mf7Kq2Lw"         // a SOPS-encrypted Secret of a kustomization
	sopsConfigSecret   = "sops-cm-Rb6Yt1"        // a ConfigMap of a kustomization, SOPS-encrypted whole
	sopsValuesSecret   = "vals-Pw93Zt5e"         // a SOPS-encrypted values file of a release
	sopsVarSecret      = "var-Hq2c8Ux1"          // a sensitive variable, substituted into a ConfigMap
	sopsStringData     = "plain-sd-Jx83Ra"       // a Secret's stringData in plain text
	sopsDriftSecret    = "edited-by-hand-Vn4Ws8" // what a drift puts in the cluster
)

var sopsSecrets = []string{sopsManifestSecret, sopsConfigSecret, sopsValuesSecret, sopsVarSecret, sopsStringData, sopsDriftSecret}

// noSOPSSecret fails the test when out shows one of sopsSecrets, or one of
// extra (the age identity), as it is or in base64.
func noSOPSSecret(t *testing.T, what, out string, extra ...string) {
	t.Helper()
	for _, s := range append(append([]string(nil), sopsSecrets...), extra...) {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(out, form) {
				t.Errorf("%s shows a secret (%q):\n%s", what, form, out)
			}
		}
	}
}

// sopsStack writes a stack whose kustomization applies a SOPS-encrypted
// Secret (decrypted with an age identity from a sensitive variable), a
// Secret with plain stringData and a ConfigMap with a sensitive variable
// substituted, and whose release reads a SOPS-encrypted values file
// (decrypted with the identity file of SOPS_AGE_KEY_FILE). The files are
// encrypted with the sops command for key.
func sopsStack(t *testing.T, ns string, key sopstool.AgeKey) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("sops"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": `
variable "namespace" { type = string }
variable "age_key" {
  type      = string
  sensitive = true
}
variable "token" {
  type      = string
  sensitive = true
  default   = "` + sopsVarSecret + `"
}

kustomization "app" {
  path             = "app"
  target_namespace = var.namespace
  wait             = false
  substitute       = { token = var.token }
  decryption {
    provider     = "sops"
    age_identity = var.age_key
  }
}

release "web" {
  namespace    = var.namespace
  chart        = "charts/web"
  wait         = false
  values_files = ["values.enc.yaml"]
  decryption {
    provider = "sops"
  }
}
`,
		"ns.auto.vars.hcl":       `namespace = "` + ns + `"` + "\n",
		"app/kustomization.yaml": "resources: [secret.enc.yaml, settings.enc.yaml, objects.yaml]\n",
		"app/settings.enc.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  dsn: postgres://app:" + sopsConfigSecret + "@db\n",
		"app/secret.enc.yaml":    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + sopsManifestSecret + "\n",
		"app/objects.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: plain
stringData:
  api: ` + sopsStringData + `
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  mode: fast
  token: ${token}
`,
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n  labels:\n    team: {{ .Values.team | quote }}\ndata:\n  url: {{ .Values.url | quote }}\n",
		"values.enc.yaml":              "team: platform\nurl: https://user:" + sopsValuesSecret + "@db.example.com\n",
	})
	sopstool.Encrypt(t, filepath.Join(dir, "app/secret.enc.yaml"), "--age", key.Recipient, "--encrypted-regex", "^(data|stringData)$")
	sopstool.Encrypt(t, filepath.Join(dir, "app/settings.enc.yaml"), "--age", key.Recipient)
	sopstool.Encrypt(t, filepath.Join(dir, "values.enc.yaml"), "--age", key.Recipient, "--encrypted-regex", "^url$")
	return dir
}

// TestSOPSSecretsNeverShown applies a stack that brings secrets into the
// cluster through a SOPS-encrypted manifest, a SOPS-encrypted values file,
// a sensitive variable and a Secret's stringData, and greps every output
// (plan in each format, show of the saved plan, apply, the next plan,
// drift, state show/pull/list) and the state file for each secret, as it
// is and in base64. The cluster gets the decrypted values.
func TestSOPSSecretsNeverShown(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "sops")
	key := sopstool.NewAgeKey(t)
	dir := sopsStack(t, ns, key)
	env := map[string]string{"SOPS_AGE_KEY_FILE": key.File}
	kc := "--kubeconfig=" + c.Kubeconfig()
	vars := []string{kc, "--var", "age_key=" + key.Identity}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLIEnv(t, env, append(args, vars...)...)
	}
	file := filepath.Join(t.TempDir(), "plan.out")

	code, stdout, stderr := run("plan", dir, "--out", file, "--detailed-exitcode")
	if code != 2 {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout, stderr)
	}
	noSOPSSecret(t, "plan", stdout+stderr, key.Identity)
	for _, want := range []string{"+ data.token: (sensitive value)", "+ data.url: (sensitive value)", `+ metadata.labels.team: "platform"`,
		"+ data.dsn: (sensitive value)", "# kustomization.app/ConfigMap/" + ns + "/settings will be created", `+ data.mode: "fast"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan does not show %q:\n%s", want, stdout)
		}
	}
	for _, format := range []string{"json", "markdown"} {
		code, stdout, stderr := run("plan", dir, "-o", format, "--lock=false")
		if code != 0 {
			t.Fatalf("plan -o %s: exit %d\n%s%s", format, code, stdout, stderr)
		}
		noSOPSSecret(t, "plan -o "+format, stdout+stderr, key.Identity)
	}
	for _, format := range []string{"human", "json", "markdown"} {
		code, stdout, stderr := runCLI(t, "show", file, "-o", format)
		if code != 0 {
			t.Fatalf("show -o %s: exit %d\n%s%s", format, code, stdout, stderr)
		}
		noSOPSSecret(t, "show -o "+format, stdout+stderr, key.Identity)
	}
	checkSOPSSavedPlan(t, file, key.Identity)

	// Apply the saved plan: the cluster gets the decrypted values.
	code, stdout, stderr = runCLIEnv(t, nil, "apply", file, kc)
	if code != 0 {
		t.Fatalf("apply FILE: exit %d\n%s%s", code, stdout, stderr)
	}
	noSOPSSecret(t, "apply FILE", stdout+stderr, key.Identity)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := cs.CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil || string(db.Data["password"]) != sopsManifestSecret {
		t.Fatalf("Secret db in the cluster: %v, %v", db.Data, err)
	}
	if _, ok := db.Annotations["sops"]; ok {
		t.Error("the Secret carries SOPS metadata")
	}
	if cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{}); err != nil || cm.Data["dsn"] != "postgres://app:"+sopsConfigSecret+"@db" {
		t.Fatalf("ConfigMap settings in the cluster: %v, %v", cm, err)
	}
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "web-settings", metav1.GetOptions{})
	if err != nil || cm.Data["url"] != "https://user:"+sopsValuesSecret+"@db.example.com" || cm.Labels["team"] != "platform" {
		t.Fatalf("ConfigMap web-settings in the cluster: %v, %v", cm, err)
	}

	// The next plan is clean.
	code, stdout, stderr = run("plan", dir, "--detailed-exitcode")
	if code != 0 {
		t.Fatalf("plan after apply: exit %d, want 0 (no changes)\n%s%s", code, stdout, stderr)
	}
	noSOPSSecret(t, "plan after apply", stdout+stderr, key.Identity)

	// State: every command, and the file itself.
	for _, args := range [][]string{
		{"state", "pull", "--dir", dir},
		{"state", "list", "--dir", dir},
		{"state", "show", "kustomization.app/Secret/" + ns + "/db", "--dir", dir},
		{"state", "show", "release.web", "--dir", dir},
	} {
		code, stdout, stderr := runCLIEnv(t, env, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", strings.Join(args[:2], " "), code, stdout, stderr)
		}
		noSOPSSecret(t, strings.Join(args[:2], " "), stdout+stderr, key.Identity)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ".strata", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	noSOPSSecret(t, "the state file", string(raw), key.Identity)

	// A hand edit of the Secret: drift and the next plan mask both values.
	patch := `{"stringData":{"password":"` + sopsDriftSecret + `"}}`
	if _, err := cs.CoreV1().Secrets(ns).Patch(ctx, "db", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"settings", "web-settings"} {
		patch := `{"data":{"dsn":"` + sopsDriftSecret + `","url":"` + sopsDriftSecret + `"}}`
		if _, err := cs.CoreV1().ConfigMaps(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []string{"human", "json", "markdown"} {
		code, stdout, stderr := run("drift", dir, "-o", format)
		if code != 2 {
			t.Fatalf("drift -o %s: exit %d, want 2\n%s%s", format, code, stdout, stderr)
		}
		noSOPSSecret(t, "drift -o "+format, stdout+stderr, key.Identity)
	}
	code, stdout, stderr = run("plan", dir, "--detailed-exitcode")
	if code != 2 {
		t.Fatalf("plan after the edit: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	noSOPSSecret(t, "plan after the edit", stdout+stderr, key.Identity)
	code, stdout, stderr = run("apply", dir, "--auto-approve")
	if code != 0 {
		t.Fatalf("apply after the edit: exit %d\n%s%s", code, stdout, stderr)
	}
	noSOPSSecret(t, "apply after the edit", stdout+stderr, key.Identity)
	if db, err := cs.CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{}); err != nil || string(db.Data["password"]) != sopsManifestSecret {
		t.Fatalf("Secret db after the apply: %v, %v", db.Data, err)
	}
}

// checkSOPSSavedPlan checks that the saved plan holds the secrets only
// where applying it needs them: in the rendered objects and the release
// values, which it locates as sensitive.
func checkSOPSSavedPlan(t *testing.T, file string, extra ...string) {
	t.Helper()
	p, err := plan.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	located := map[string]bool{}
	for i := range p.Blocks {
		b := &p.Blocks[i]
		if len(b.Sensitive) > 0 {
			located[b.Address] = true
		}
		b.Objects = nil
		if b.Kind == "release" {
			var settings map[string]any
			if err := json.Unmarshal(b.Settings, &settings); err != nil {
				t.Fatal(err)
			}
			if settings["sensitive"] != nil {
				located[b.Address] = true
			}
			delete(settings, "values")
			delete(settings, "chart")
			b.Settings, _ = json.Marshal(settings)
		}
	}
	if !located["kustomization.app"] || !located["release.web"] {
		t.Errorf("the saved plan does not locate the sensitive fields of both blocks: %v", located)
	}
	rest, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	noSOPSSecret(t, "the saved plan outside its rendered objects and values", string(rest), extra...)
}

// TestSOPSBadInput: a wrong key, a file encrypted for another recipient
// and a tampered file each fail plan and apply with exit 1 and an error
// naming the file, and nothing is applied.
func TestSOPSBadInput(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "sopsbad")
	key, other := sopstool.NewAgeKey(t), sopstool.NewAgeKey(t)
	kc := "--kubeconfig=" + c.Kubeconfig()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		vars  []string
		setup func(t *testing.T, dir string)
		file  string
		want  string
	}{
		{name: "wrong key", vars: []string{"age_key=" + other.Identity}, env: map[string]string{"SOPS_AGE_KEY_FILE": other.File},
			file: "app/secret.enc.yaml", want: "no decryption key opens it"},
		{name: "other recipient", vars: []string{"age_key=" + key.Identity}, env: map[string]string{"SOPS_AGE_KEY_FILE": key.File},
			setup: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "values.enc.yaml")
				if err := os.WriteFile(p, []byte("url: https://user:"+sopsValuesSecret+"@db.example.com\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				sopstool.Encrypt(t, p, "--age", other.Recipient)
			},
			file: "values.enc.yaml", want: "it is encrypted for age " + other.Recipient},
		{name: "tampered", vars: []string{"age_key=" + key.Identity}, env: map[string]string{"SOPS_AGE_KEY_FILE": key.File},
			setup: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "app/secret.enc.yaml")
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(strings.Replace(string(b), "name: db", "name: db2", 1)), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			file: "app/secret.enc.yaml", want: "MAC"},
		{name: "no decryption block", vars: []string{"age_key=" + key.Identity},
			setup: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "main.hcl")
				b, _ := os.ReadFile(p)
				s := strings.Replace(string(b), "decryption {\n    provider     = \"sops\"\n    age_identity = var.age_key\n  }", "", 1)
				if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			file: "app/secret.enc.yaml", want: "is SOPS-encrypted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := sopsStack(t, ns, key)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			for _, cmd := range [][]string{{"plan", dir}, {"apply", dir, "--auto-approve"}} {
				args := append(cmd, kc)
				for _, v := range tc.vars {
					args = append(args, "--var", v)
				}
				code, stdout, stderr := runCLIEnv(t, tc.env, args...)
				if code != 1 || !strings.Contains(stderr, tc.file) || !strings.Contains(stderr, tc.want) {
					t.Errorf("%s: exit %d, want 1 and an error naming %s with %q\n%s%s", cmd[0], code, tc.file, tc.want, stdout, stderr)
				}
				noSOPSSecret(t, cmd[0], stdout+stderr, key.Identity, other.Identity)
			}
			ctx := context.Background()
			if s, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); err != nil || len(s.Items) > 0 {
				t.Errorf("objects were applied: %v, %v", s, err)
			}
			if m, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "team"}); err != nil || len(m.Items) > 0 {
				t.Errorf("the release was installed: %v, %v", m, err)
			}
		})
	}
}

// TestValidateSOPS: validate reads no keys. It does not render blocks that
// decrypt, and reports SOPS-encrypted files of blocks that do not, naming
// the file.
func TestValidateSOPS(t *testing.T) {
	key := sopstool.NewAgeKey(t)
	dir := sopsStack(t, "validate", key)
	code, stdout, stderr := runCLI(t, "validate", dir)
	if code != 0 {
		t.Fatalf("validate of blocks that decrypt: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	p := filepath.Join(dir, "main.hcl")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "decryption {\n    provider     = \"sops\"\n    age_identity = var.age_key\n  }", "", 1)
	s = strings.Replace(s, "decryption {\n    provider = \"sops\"\n  }", "", 1)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "validate", dir)
	if code != 1 {
		t.Fatalf("validate without decryption blocks: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"app/secret.enc.yaml is SOPS-encrypted", "Encrypted values file", "values.enc.yaml"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate does not say %q:\n%s", want, stderr)
		}
	}
	noSOPSSecret(t, "validate", stdout+stderr, key.Identity)
}

// TestSOPSValuesInServerErrors: an admission policy refuses the release's
// ConfigMap, quoting the URL that the SOPS values file holds; plan and
// apply fail with the policy's message, the value masked.
func TestSOPSValuesInServerErrors(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "sopserr")
	key := sopstool.NewAgeKey(t)
	dir := sopsStack(t, ns, key)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	refuseURLs(t, cs, ns)
	env := map[string]string{"SOPS_AGE_KEY_FILE": key.File}
	for _, cmd := range [][]string{{"plan", dir}, {"apply", dir, "--auto-approve"}} {
		code, stdout, stderr := runCLIEnv(t, env, append(cmd, "--kubeconfig="+c.Kubeconfig(), "--var", "age_key="+key.Identity)...)
		if code != 1 || !strings.Contains(stdout+stderr, "refused url (sensitive value)") {
			t.Errorf("%s refused by a policy: exit %d, want 1 and the policy's message masked\n%s%s", cmd[0], code, stdout, stderr)
		}
		noSOPSSecret(t, cmd[0]+" refused by a policy", stdout+stderr, key.Identity)
	}
}
