package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// encryptedStack writes a stack with one kustomization (a ConfigMap in a
// namespace of its own) and the given strata block body; it returns the
// directory and the names and values that must not be found at rest.
func encryptedStack(t *testing.T, strataBody string) (dir string, planted []string) {
	t.Helper()
	ns := testcluster.UniqueName("encns")
	cm := testcluster.UniqueName("encobject")
	dir = filepath.Join(t.TempDir(), testcluster.UniqueName("encstack"))
	writeFiles(t, dir, map[string]string{
		"main.hcl":                 stackHCL(strataBody),
		"manifests/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n",
		"manifests/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + cm + "\n  namespace: " + ns +
			"\ndata:\n  setting: enc-value-first-41x\n",
	})
	c := testcluster.Get(t)
	t.Cleanup(func() { c.Kubectl(t, "delete", "namespace", ns, "--ignore-not-found", "--wait=false") })
	return dir, []string{ns, cm, "enc-value-", "kustomization.app"}
}

// stackHCL is the stack's main.hcl with the given strata block body.
func stackHCL(strataBody string) string {
	return "strata {\n" + strataBody + "\n}\n" + `kustomization "app" {
  path    = "manifests"
  timeout = "1m"
}
`
}

// replaceInFile replaces old by new in the file at p.
func replaceInFile(t *testing.T, p, old, new string) {
	t.Helper()
	b := mustRead(t, p)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s holds no %q", p, old)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// notAtRest fails when data holds any of planted.
func notAtRest(t *testing.T, what string, data []byte, planted []string) {
	t.Helper()
	if len(data) == 0 {
		t.Fatalf("%s: nothing stored", what)
	}
	for _, p := range planted {
		if bytes.Contains(data, []byte(p)) {
			t.Errorf("%s holds %q in plaintext", what, p)
		}
	}
}

// TestEncryptionAtRestLocal runs a stack with strata { encryption {
// passphrase = env(...) } } and the local backend: the state file and the
// saved plan hold none of the stack's names or values; without the key,
// or with another, state list and apply FILE fail with a clear message
// (exit 1); with it, apply FILE and show work; state migrate decrypts and
// encrypts the state again, history kept.
func TestEncryptionAtRestLocal(t *testing.T) {
	c := testcluster.Get(t)
	dir, planted := encryptedStack(t, `  encryption {
    passphrase = env("STRATA_PASSPHRASE")
  }`)
	kc := "--kubeconfig=" + c.Kubeconfig()
	env := map[string]string{"STRATA_PASSPHRASE": "correct horse battery staple"}
	wrong := map[string]string{"STRATA_PASSPHRASE": "a wrong passphrase"}
	if code, stdout, stderr := runCLIEnv(t, env, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	replaceInFile(t, filepath.Join(dir, "manifests/configmap.yaml"), "enc-value-first-41x", "enc-value-second-72y")
	planFile := filepath.Join(t.TempDir(), "plan.out")
	if code, stdout, stderr := runCLIEnv(t, env, "plan", dir, kc, "--out", planFile); code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, stdout, stderr)
	}
	notAtRest(t, "the state file", mustRead(t, filepath.Join(dir, ".strata/state.db")), planted)
	notAtRest(t, "the saved plan", mustRead(t, planFile), planted)

	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no passphrase":    {nil, "encryption key (" + filepath.Join(dir, "main.hcl") + ":2) is not known"},
		"wrong passphrase": {wrong, "is encrypted, and the configured encryption key does not decrypt it"},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLIEnv(t, tc.env, "state", "list", "--dir", dir)
			if code != 1 || !strings.Contains(stderr, tc.want) || strings.Contains(stdout, "kustomization.app") {
				t.Errorf("state list: exit %d, want 1 with %q\n%s%s", code, tc.want, stdout, stderr)
			}
			// The lock stays readable: force-unlock needs no key.
			code, stdout, stderr = runCLIEnv(t, tc.env, "force-unlock", "some-id", "--force", "--dir", dir)
			if code != 1 || !strings.Contains(stderr, "state is not locked") {
				t.Errorf("force-unlock: exit %d, want 1 with the state not locked\n%s%s", code, stdout, stderr)
			}
			t.Chdir(dir)
			code, stdout, stderr = runCLIEnv(t, tc.env, "apply", planFile, kc)
			if code != 1 || !strings.Contains(stderr, strings.Replace(tc.want, filepath.Join(dir, "main.hcl"), "main.hcl", 1)) {
				t.Errorf("apply FILE: exit %d, want 1 with %q\n%s%s", code, tc.want, stdout, stderr)
			}
		})
	}
	t.Run("apply FILE", func(t *testing.T) {
		code, stdout, stderr := runCLIEnv(t, env, "show", planFile, "--dir", dir)
		if code != 0 || !strings.Contains(stdout, "1 to change") {
			t.Fatalf("show: exit %d\n%s%s", code, stdout, stderr)
		}
		t.Chdir(dir)
		if code, stdout, stderr := runCLIEnv(t, env, "apply", planFile, kc); code != 0 {
			t.Fatalf("apply FILE: exit %d\n%s%s", code, stdout, stderr)
		}
	})
	t.Run("migrate", func(t *testing.T) {
		if code, stdout, stderr := runCLIEnv(t, env, "state", "migrate", "--decrypt", "--dir", dir); code != 0 {
			t.Fatalf("migrate --decrypt: exit %d\n%s%s", code, stdout, stderr)
		}
		if !bytes.Contains(mustRead(t, filepath.Join(dir, ".strata/state.db")), []byte("kustomization.app")) {
			t.Error("decrypted state holds no plaintext")
		}
		code, stdout, stderr := runCLIEnv(t, env, "state", "list", "--dir", dir)
		if code != 1 || !strings.Contains(stderr, "not encrypted, but encryption is configured: run strata state migrate --encrypt") {
			t.Errorf("state list of a plaintext state with a key: exit %d, want 1\n%s%s", code, stdout, stderr)
		}
		if code, stdout, stderr := runCLIEnv(t, env, "state", "migrate", "--encrypt", "--dir", dir); code != 0 {
			t.Fatalf("migrate --encrypt: exit %d\n%s%s", code, stdout, stderr)
		}
		notAtRest(t, "the state file after migrate --encrypt", mustRead(t, filepath.Join(dir, ".strata/state.db")), planted)
		code, stdout, stderr = runCLIEnv(t, env, "state", "history", "--dir", dir)
		if code != 0 || strings.Count(stdout, "apply") < 2 {
			t.Errorf("history after migrations: exit %d\n%s%s", code, stdout, stderr)
		}
	})
}

// TestEncryptionAtRestKubernetes runs a stack with age keys and the
// kubernetes backend: no Secret of the state and not the saved plan holds
// the stack's names or values; without the identity, state list and apply
// FILE fail with a clear message (exit 1).
func TestEncryptionAtRestKubernetes(t *testing.T) {
	c := testcluster.Get(t)
	stateNS := c.Namespace(t, "encstate")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	stateName := testcluster.UniqueName("enc")
	dir, planted := encryptedStack(t, `  backend "kubernetes" {
    namespace = "`+stateNS+`"
    name      = "`+stateName+`"
  }
  encryption {
    age_recipients = ["`+id.Recipient().String()+`"]
    age_identity   = env("STRATA_AGE_IDENTITY")
  }`)
	kc := "--kubeconfig=" + c.Kubeconfig()
	env := map[string]string{"STRATA_AGE_IDENTITY": "# test key\n" + id.String() + "\n"}
	if code, stdout, stderr := runCLIEnv(t, env, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	replaceInFile(t, filepath.Join(dir, "manifests/configmap.yaml"), "enc-value-first-41x", "enc-value-second-72y")
	planFile := filepath.Join(t.TempDir(), "plan.out")
	if code, stdout, stderr := runCLIEnv(t, env, "plan", dir, kc, "--out", planFile); code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, stdout, stderr)
	}
	notAtRest(t, "the saved plan", mustRead(t, planFile), planted)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Secrets(stateNS).List(t.Context(), metav1.ListOptions{LabelSelector: "strata.dev/state=" + stateName})
	if err != nil {
		t.Fatal(err)
	}
	var stored bytes.Buffer
	for _, sec := range list.Items {
		stored.WriteString(sec.Name)
		for _, v := range sec.Data {
			stored.Write(v)
			if zr, err := gzip.NewReader(bytes.NewReader(v)); err == nil {
				b, _ := io.ReadAll(zr)
				stored.Write(b)
			}
		}
	}
	notAtRest(t, "the state Secrets", stored.Bytes(), planted)

	other, _ := age.GenerateX25519Identity()
	wrong := map[string]string{"STRATA_AGE_IDENTITY": other.String()}
	code, stdout, stderr := runCLIEnv(t, wrong, "state", "list", "--dir", dir, kc)
	if code != 1 || !strings.Contains(stderr, "is encrypted, and the configured encryption key does not decrypt it") {
		t.Errorf("state list with another identity: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	t.Chdir(dir)
	code, stdout, stderr = runCLIEnv(t, wrong, "apply", planFile, kc)
	if code != 1 || !strings.Contains(stderr, "saved plan is encrypted, and the configured encryption key does not decrypt it") {
		t.Errorf("apply FILE with another identity: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	// Without the encryption block: no key at all.
	backendOnly := `  backend "kubernetes" {
    namespace = "` + stateNS + `"
    name      = "` + stateName + `"
  }`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(stackHCL(backendOnly)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLIEnv(t, env, "state", "list", "--dir", dir, kc)
	if code != 1 || !strings.Contains(stderr, "is encrypted, and no encryption key is configured") {
		t.Errorf("state list without an encryption block: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLIEnv(t, env, "apply", planFile, kc)
	if code != 1 || !strings.Contains(stderr, "saved plan is encrypted, and no encryption key is configured") {
		t.Errorf("apply FILE without an encryption block: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
}
