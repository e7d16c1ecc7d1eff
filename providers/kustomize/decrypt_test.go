package kustomize

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sopstool "github.com/strata-gitops/strata/internal/cmd/sops"
	"github.com/strata-gitops/strata/providers/sops"
)

// sopsTree writes files under a new temporary directory and encrypts those
// in encrypt with sops for key, each with its extra sops arguments.
func sopsTree(t *testing.T, key sopstool.AgeKey, files map[string]string, encrypt map[string][]string) string {
	t.Helper()
	root := writeTree(t, files)
	for p, args := range encrypt {
		sopstool.Encrypt(t, filepath.Join(root, p), append([]string{"--age", key.Recipient}, args...)...)
	}
	return root
}

func decryptorFor(t *testing.T, key sopstool.AgeKey) *sops.Decryptor {
	t.Helper()
	data, err := os.ReadFile(key.File)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sops.New(sops.Keys{Age: []sops.Key{{Name: "test", Data: string(data)}}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// secretValue returns the decoded data (or stringData) value of a Secret.
func secretValue(t *testing.T, u *unstructured.Unstructured, key string) string {
	t.Helper()
	if s, ok, _ := unstructured.NestedString(u.Object, "stringData", key); ok {
		return s
	}
	s, _, _ := unstructured.NestedString(u.Object, "data", key)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%s data %s: %v", u.GetName(), key, err)
	}
	return string(b)
}

func TestBuildDecryptsSOPSFiles(t *testing.T) {
	key := sopstool.NewAgeKey(t)
	regex := []string{"--encrypted-regex", "^(data|stringData)$"}
	root := sopsTree(t, key, map[string]string{
		"app/kustomization.yaml": `resources: [secret.yaml, whole.yaml, cm.json]
patches:
- path: patch.yaml
secretGenerator:
- name: gen
  files: [token.txt, config.json=settings.enc.json]
  envs: [app.env]
configMapGenerator:
- name: plain
  files: [notes.txt]
`,
		"app/secret.yaml":       "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: manifest-secret-1\n",
		"app/whole.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: whole\ndata:\n  key: whole-file-secret\n",
		"app/cm.json":           `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "json"}, "stringData": {"k": "json-secret-2"}}`,
		"app/patch.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  extra: patched-secret-3\n",
		"app/token.txt":         "binary-token-4",
		"app/settings.enc.json": `{"url": "https://user:json-gen-5@example.com"}`,
		"app/app.env":           "API_KEY=env-secret-6\n",
		"app/notes.txt":         "not encrypted",
	}, map[string][]string{
		"app/secret.yaml": regex, "app/whole.yaml": nil, "app/cm.json": regex, "app/patch.yaml": regex,
		"app/token.txt": nil, "app/settings.enc.json": nil, "app/app.env": nil,
	})
	var got []string
	objs, err := Build(context.Background(), Options{Root: root, Path: "app", Decryptor: decryptorFor(t, key),
		OnDecrypt: func(v []string) { got = append(got, v...) }})
	if err != nil {
		t.Fatal(err)
	}
	db := find(objs, "Secret", "db")
	if db == nil || secretValue(t, db, "password") != "manifest-secret-1" || secretValue(t, db, "extra") != "patched-secret-3" {
		t.Fatalf("Secret db: %v", db)
	}
	if _, ok := db.Object["sops"]; ok {
		t.Error("Secret db keeps the sops metadata")
	}
	if w := find(objs, "ConfigMap", "whole"); w == nil || w.GetName() != "whole" {
		t.Errorf("whole-file encrypted ConfigMap: %v", w)
	} else if v, _, _ := unstructured.NestedString(w.Object, "data", "key"); v != "whole-file-secret" {
		t.Errorf("whole-file encrypted ConfigMap data = %q", v)
	}
	if j := find(objs, "Secret", "json"); j == nil || secretValue(t, j, "k") != "json-secret-2" {
		t.Errorf("JSON Secret: %v", j)
	}
	var gen *unstructured.Unstructured
	for _, o := range objs {
		if strings.HasPrefix(o.GetName(), "gen-") {
			gen = o
		}
	}
	if gen == nil {
		t.Fatal("no generated Secret")
	}
	if v := secretValue(t, gen, "token.txt"); v != "binary-token-4" {
		t.Errorf("generated token.txt = %q", v)
	}
	if v := secretValue(t, gen, "config.json"); !strings.Contains(v, "json-gen-5") || strings.Contains(v, "sops") {
		t.Errorf("generated config.json = %q", v)
	}
	if v := secretValue(t, gen, "API_KEY"); v != "env-secret-6" {
		t.Errorf("generated API_KEY = %q", v)
	}
	for _, want := range []string{"manifest-secret-1", "whole-file-secret", "json-secret-2", "patched-secret-3", "binary-token-4", "env-secret-6"} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("OnDecrypt did not receive %s (got %q)", want, got)
		}
	}
	if slices.Contains(got, "db") || slices.Contains(got, "v1") {
		t.Errorf("OnDecrypt received values that were not encrypted: %q", got)
	}
	for _, f := range []string{"app/secret.yaml", "app/token.txt"} {
		b, _ := os.ReadFile(filepath.Join(root, f))
		if !sops.Encrypted(b, sops.FormatForPath(f)) {
			t.Errorf("%s was written decrypted", f)
		}
	}
}

func TestBuildDecryptsSecretDataDocuments(t *testing.T) {
	key := sopstool.NewAgeKey(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "creds.yaml")
	if err := os.WriteFile(p, []byte("user: admin\npassword: data-doc-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sopstool.Encrypt(t, p, "--age", key.Recipient)
	enc, _ := os.ReadFile(p)
	root := writeTree(t, map[string]string{
		"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: doc\ndata:\n  creds.yaml: " + base64.StdEncoding.EncodeToString(enc) + "\n",
	})
	var got []string
	objs, err := Build(context.Background(), Options{Root: root, Decryptor: decryptorFor(t, key), OnDecrypt: func(v []string) { got = append(got, v...) }})
	if err != nil {
		t.Fatal(err)
	}
	if v := secretValue(t, find(objs, "Secret", "doc"), "creds.yaml"); !strings.Contains(v, "password: data-doc-secret") || strings.Contains(v, "sops") {
		t.Errorf("creds.yaml = %q", v)
	}
	if !slices.Contains(got, "data-doc-secret") {
		t.Errorf("OnDecrypt got %q", got)
	}
	// Without decryption the value is kept as written, as in Flux.
	objs, err = Build(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if v := secretValue(t, find(objs, "Secret", "doc"), "creds.yaml"); v != string(enc) {
		t.Errorf("without decryption, creds.yaml = %q", v)
	}
}

func TestBuildRefusesSOPSFiles(t *testing.T) {
	key, other := sopstool.NewAgeKey(t), sopstool.NewAgeKey(t)
	files := map[string]string{
		"kustomization.yaml": "resources: [secret.yaml]\n",
		"secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: refused-secret\n",
	}
	regex := map[string][]string{"secret.yaml": {"--encrypted-regex", "^(data|stringData)$"}}

	t.Run("no decryptor", func(t *testing.T) {
		root := sopsTree(t, key, files, regex)
		_, err := Build(context.Background(), Options{Root: root})
		if !errors.Is(err, ErrEncrypted) || !strings.Contains(err.Error(), "secret.yaml") || !strings.Contains(err.Error(), "decryption") {
			t.Fatalf("err = %v, want ErrEncrypted naming the file", err)
		}
	})
	t.Run("right key", func(t *testing.T) {
		root := sopsTree(t, key, files, regex)
		objs, err := Build(context.Background(), Options{Root: root, Decryptor: decryptorFor(t, key)})
		if err != nil {
			t.Fatal(err)
		}
		if v := secretValue(t, find(objs, "Secret", "db"), "password"); v != "refused-secret" {
			t.Errorf("password = %q", v)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		root := sopsTree(t, key, files, regex)
		_, err := Build(context.Background(), Options{Root: root, Decryptor: decryptorFor(t, other)})
		if !errors.Is(err, sops.ErrNoKey) || !strings.Contains(err.Error(), "secret.yaml") {
			t.Fatalf("err = %v, want ErrNoKey naming the file", err)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		root := sopsTree(t, key, files, regex)
		p := filepath.Join(root, "secret.yaml")
		b, _ := os.ReadFile(p)
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), "name: db", "name: other", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Build(context.Background(), Options{Root: root, Decryptor: decryptorFor(t, key)})
		if !errors.Is(err, sops.ErrTampered) || !strings.Contains(err.Error(), "secret.yaml") {
			t.Fatalf("err = %v, want ErrTampered naming the file", err)
		}
	})
	t.Run("configmap generator file is not decrypted", func(t *testing.T) {
		root := sopsTree(t, key, map[string]string{
			"kustomization.yaml": "configMapGenerator:\n- name: raw\n  files: [doc.yaml]\n",
			"doc.yaml":           "password: stays-encrypted\n",
		}, map[string][]string{"doc.yaml": nil})
		objs, err := Build(context.Background(), Options{Root: root, Decryptor: decryptorFor(t, key)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if v, _, _ := unstructured.NestedString(o.Object, "data", "doc.yaml"); strings.Contains(v, "stays-encrypted") || !strings.Contains(v, "ENC[") {
				t.Errorf("ConfigMap data = %q, want the file as it is", v)
			}
		}
	})
}

// TestBuildDecryptsSOPSFilesOfGeneratedKustomization wants the encrypted
// manifests of a directory without a kustomization file decrypted, as
// those a kustomization file names, and the objects kustomize gives.
func TestBuildDecryptsSOPSFilesOfGeneratedKustomization(t *testing.T) {
	key := sopstool.NewAgeKey(t)
	root := sopsTree(t, key, map[string]string{
		"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: generated-secret-1\n",
		"app/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n",
	}, map[string][]string{"app/secret.yaml": {"--encrypted-regex", "^(data|stringData)$"}})
	opts := Options{Root: root, Path: "app", Decryptor: decryptorFor(t, key)}
	objs, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if db := find(objs, "Secret", "db"); db == nil || secretValue(t, db, "password") != "generated-secret-1" {
		t.Fatalf("Secret db: %v", db)
	}
	opts.noPlain = true
	want, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(objs)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("objects:\n%s\nkustomize's:\n%s", g, w)
	}
}
