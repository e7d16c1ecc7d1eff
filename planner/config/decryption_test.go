package config_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/planner/config"
)

func TestDecryptionBlock(t *testing.T) {
	const key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
	dir := writeStack(t, map[string]string{
		"app/kustomization.yaml": "resources: []\n",
		"chart/Chart.yaml":       "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"main.hcl": `
variable "age_key" {
  type      = string
  sensitive = true
}
kustomization "app" {
  path = "app"
  decryption {
    provider           = "sops"
    age_identity       = var.age_key
    age_identity_files = ["keys/age.txt"]
  }
}
release "web" {
  chart = "chart"
  decryption {
    provider              = "sops"
    pgp_private_key_files = ["keys/ci.asc"]
  }
}
release "plain" {
  chart = "chart"
}
`,
	})
	st := mustLoad(t, dir, config.LoadOptions{Vars: []config.VarArg{{Name: "age_key", Value: key}}})
	k := st.Kustomizations["app"]
	if k.Decryption == nil || k.Decryption.Provider != "sops" || k.Decryption.AgeIdentity.Reveal() != key ||
		!cmp.Equal(k.Decryption.AgeIdentityFiles, []string{"keys/age.txt"}) {
		t.Fatalf("kustomization decryption = %+v", k.Decryption)
	}
	r := st.Releases["web"]
	if r.Decryption == nil || !cmp.Equal(r.Decryption.PGPPrivateKeyFiles, []string{"keys/ci.asc"}) {
		t.Fatalf("release decryption = %+v", r.Decryption)
	}
	if st.Releases["plain"].Decryption != nil {
		t.Error("a release without decryption block has one")
	}
	if !k.IsSet("decryption") || !k.IsSet("decryption.age_identity") {
		t.Error("the block's ranges are not recorded")
	}
	// The key never shows, and does not change the digest.
	b, err := json.Marshal(k)
	if err != nil || strings.Contains(string(b), key) {
		t.Errorf("the kustomization's JSON shows the key (%v): %s", err, b)
	}
	before := k.Digest()
	k.Decryption.AgeIdentityFiles = []string{"other.txt"}
	if k.Digest() != before {
		t.Error("the key files change the digest")
	}
	found := false
	for _, v := range st.SensitiveValues() {
		found = found || v == key
	}
	if !found {
		t.Error("the age identity is not among the stack's sensitive values")
	}
}

func TestDecryptionBlockInvalid(t *testing.T) {
	for name, tc := range map[string]struct{ block, want string }{
		"provider":  {`decryption { provider = "vault" }`, `Invalid value for provider`},
		"missing":   {`decryption { age_identity_files = ["k"] }`, `Missing required argument`},
		"unknown":   {"decryption {\n    provider = \"sops\"\n    age_recipients = [\"x\"]\n  }", `Unsupported argument`},
		"duplicate": {`decryption { provider = "sops" }` + "\n" + `decryption { provider = "sops" }`, `Duplicate decryption block`},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeStack(t, map[string]string{
				"app/kustomization.yaml": "resources: []\n",
				"main.hcl":               "kustomization \"app\" {\n  path = \"app\"\n  " + tc.block + "\n}\n",
			})
			_, diags := config.Load(dir, config.LoadOptions{Version: "0.1.0"})
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) || !strings.Contains(diags.Error(), "main.hcl:") {
				t.Errorf("diagnostics = %v, want %q with file:line", diags, tc.want)
			}
		})
	}
}
