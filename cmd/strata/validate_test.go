package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	validateKust = "kustomization \"app\" {\n  path = \"app\"\n}\n"
	validateCM   = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"
	validateCR   = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
	// validateHook is a post-install hook named by generateName.
	validateHook = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: ran-\n  annotations: {helm.sh/hook: post-install}\n"
	// validateDeleteHook is a pre-delete hook named by generateName: the
	// uninstall that remediates a failed install runs it.
	validateDeleteHook = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: gone-\n  annotations: {helm.sh/hook: pre-delete}\n"
)

// TestValidateRendersLocalBlocks checks that validate, without a cluster,
// renders every local kustomization and chart and reports what would fail
// later, at the block's path or chart attribute (file:line) and naming the
// offending file.
func TestValidateRendersLocalBlocks(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		links map[string]string // link -> target; OUTSIDE is a file outside the stack
		// want are substrings of stderr; the first is the location.
		want []string
	}{
		"missing resource file": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [cm.yaml, gone.yaml]\n", "app/cm.yaml": validateCM},
			want: []string{"main.hcl:2:", "Kustomization does not build", "gone.yaml"},
		},
		"broken YAML": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": "data: [\n"},
			want: []string{"main.hcl:2:", "Kustomization does not build", "cm.yaml"},
		},
		"broken kustomization.yaml": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [cm.yaml\nnamePrefix: x-\n", "app/cm.yaml": validateCM},
			want: []string{"main.hcl:2:", "Kustomization does not build", "app/kustomization.yaml: error converting YAML to JSON: yaml: line 1:"},
		},
		"broken kustomization.yaml in a base": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [../base]\n", "base/kustomization.yaml": "resources:\n- cm.yaml\nnamePrefix: [x-\nfoo: bar\n"},
			want: []string{"main.hcl:2:", "Kustomization does not build", "accumulating resources from '../base': base/kustomization.yaml: invalid Kustomization: yaml: line 3:"},
		},
		"object without kind": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": "apiVersion: v1\nmetadata:\n  name: x\n"},
			want: []string{"main.hcl:2:", "missing kind", "cm.yaml"},
		},
		"object without name": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"},
			want: []string{"main.hcl:2:", "missing metadata.name", "cm.yaml"},
		},
		"service name over 63 characters": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [svc.yaml]\n",
				"app/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + strings.Repeat("s", 64) + "\nspec:\n  ports: [{port: 80}]\n"},
			want: []string{"main.hcl:2:", "Invalid object name", "app/svc.yaml", "DNS-1035 label"},
		},
		"namespace name over 63 characters": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [ns.yaml]\n",
				"app/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + strings.Repeat("n", 64) + "\n"},
			want: []string{"main.hcl:2:", "Invalid object name", "app/ns.yaml", "DNS-1123 label"},
		},
		"job name over 63 characters": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [job.yaml]\n",
				"app/job.yaml":           validateJob(strings.Repeat("j", 64), "")},
			want: []string{"main.hcl:2:", "Invalid object name", "app/job.yaml", "at most 63 characters, to fit its pods' job-name label"},
		},
		"cronjob name over 52 characters": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [cron.yaml]\n",
				"app/cron.yaml":          validateCronJob(strings.Repeat("c", 53))},
			want: []string{"main.hcl:2:", "Invalid object name", "app/cron.yaml", "at most 52 characters, to fit the names of its Jobs"},
		},
		"statefulset name over 52 characters from a chart": {
			files: map[string]string{
				"main.hcl":                 "release \"web\" {\n  chart = \"chart\"\n}\n",
				"chart/Chart.yaml":         validateCR,
				"chart/templates/sts.yaml": validateStatefulSet("{{ .Release.Name }}-" + strings.Repeat("s", 49))},
			want: []string{"main.hcl:2:", "Invalid object name", "chart/templates/sts.yaml", "at most 52 characters, to fit its pods' controller-revision-hash label"},
		},
		"invalid subdomain name from a base": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml":  "resources: [../base]\n",
				"base/kustomization.yaml": "resources: [cm.yaml]\n",
				"base/cm.yaml":            strings.Replace(validateCM, "name: settings", "name: Bad_Name", 1)},
			want: []string{"main.hcl:2:", "Invalid object name", "base/cm.yaml", "DNS-1123 subdomain"},
		},
		"resource path escaping the stack": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [../../outside.yaml]\n"},
			want: []string{"main.hcl:2:", "Path outside the stack directory", "outside.yaml"},
		},
		"remote resource": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [cm.yaml, \"http://169.254.169.254/latest/meta-data/x\"]\n", "app/cm.yaml": validateCM},
			want: []string{"main.hcl:2:", "Path outside the stack directory", "app/kustomization.yaml names the remote file"},
		},
		"symlink escaping the stack": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml": "resources: [cm.yaml, token.yaml]\n", "app/cm.yaml": validateCM},
			links: map[string]string{"app/token.yaml": "OUTSIDE"},
			want:  []string{"main.hcl:2:", "Path outside the stack directory", "app/token.yaml"},
		},
		"symlink escaping the stack from a base": {
			files: map[string]string{"main.hcl": validateKust,
				"app/kustomization.yaml":  "resources: [../base]\n",
				"base/kustomization.yaml": "resources: [token.yaml]\n"},
			links: map[string]string{"base/token.yaml": "OUTSIDE"},
			want:  []string{"main.hcl:2:", "Path outside the stack directory", "base/token.yaml"},
		},
		"symlink escaping a generated kustomization": {
			files: map[string]string{"main.hcl": validateKust, "app/cm.yaml": validateCM},
			links: map[string]string{"app/token.yaml": "OUTSIDE"},
			want:  []string{"main.hcl:2:", "Path outside the stack directory", "app/token.yaml"},
		},
		"two releases with the same name and namespace": {
			files: map[string]string{
				"main.hcl":                 "release \"web\" {\n  chart = \"chart\"\n}\n\nrelease \"web2\" {\n  name  = \"web\"\n  chart = \"chart\"\n}\n",
				"chart/Chart.yaml":         validateCR,
				"chart/templates/.gitkeep": ""},
			want: []string{"main.hcl:6:", "Duplicate Helm release", "release.web2", "release.web"},
		},
		"same object from two kustomizations": {
			files: map[string]string{
				"main.hcl":               validateKust + "\nkustomization \"other\" {\n  path = \"other\"\n}\n",
				"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": validateCM,
				"other/kustomization.yaml": "resources: [cm.yaml]\n", "other/cm.yaml": validateCM},
			want: []string{"main.hcl:6:", "Object rendered by two blocks", "kustomization.app (from app/cm.yaml)", "kustomization.other (from other/cm.yaml)"},
		},
		"same object from a kustomization and a chart": {
			files: map[string]string{
				"main.hcl":               validateKust + "\nrelease \"web\" {\n  namespace = \"default\"\n  chart     = \"chart\"\n}\n",
				"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": validateCM,
				"chart/Chart.yaml": validateCR, "chart/templates/cm.yaml": validateCM},
			want: []string{"main.hcl:7:", "Object rendered by two blocks", "kustomization.app (from app/cm.yaml)", "release.web (from chart/templates/cm.yaml)"},
		},
		"chart renders an invalid name": {
			files: map[string]string{
				"main.hcl":                 "release \"web\" {\n  chart = \"chart\"\n}\n",
				"chart/Chart.yaml":         validateCR,
				"chart/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-{{ repeat 60 \"x\" }}\nspec:\n  ports: [{port: 80}]\n"},
			want: []string{"main.hcl:2:", "Invalid object name", "chart/templates/svc.yaml"},
		},
		"chart hook without a name": {
			files: map[string]string{
				"main.hcl":                 "release \"web\" {\n  chart = \"chart\"\n}\n",
				"chart/Chart.yaml":         validateCR,
				"chart/templates/ran.yaml": validateHook},
			want: []string{"main.hcl:2:", "Helm hook without a name", "the post-install hook ConfigMap from web/templates/ran.yaml has no metadata.name", "install.disable_hooks"},
		},
		"chart delete hook without a name that the install's remediation runs": {
			files: map[string]string{
				"main.hcl":                 "release \"web\" {\n  chart = \"chart\"\n  install {\n    remediation {\n      retries = 1\n    }\n  }\n}\n",
				"chart/Chart.yaml":         validateCR,
				"chart/templates/del.yaml": validateDeleteHook},
			want: []string{"main.hcl:2:", "Helm hook without a name", "the pre-delete hook ConfigMap from web/templates/del.yaml has no metadata.name",
				"if the install fails, the uninstall that remediates it (install.remediation)", "uninstall.disable_hooks"},
		},
		"chart delete hook without a name that the upgrade's remediation runs": {
			files: map[string]string{
				"main.hcl":                 "release \"web\" {\n  chart = \"chart\"\n  upgrade {\n    remediation {\n      retries  = 1\n      strategy = \"uninstall\"\n    }\n  }\n}\n",
				"chart/Chart.yaml":         validateCR,
				"chart/templates/del.yaml": validateDeleteHook},
			want: []string{"main.hcl:2:", "Helm hook without a name", "the pre-delete hook ConfigMap from web/templates/del.yaml has no metadata.name",
				"if the upgrade fails, the uninstall that remediates it (upgrade.remediation)", "uninstall.disable_hooks"},
		},
		"chart template fails": {
			files: map[string]string{
				"main.hcl":                "release \"web\" {\n  chart = \"chart\"\n}\n",
				"chart/Chart.yaml":        validateCR,
				"chart/templates/cm.yaml": "{{ .Values.missing.deeper }}\n"},
			want: []string{"main.hcl:2:", "Chart does not render", "templates/cm.yaml"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "outside.yaml"), []byte(validateCM), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(root, "stack")
			writeFiles(t, dir, tt.files)
			for l, target := range tt.links {
				if target == "OUTSIDE" {
					target = filepath.Join(root, "outside.yaml")
				}
				if err := os.Symlink(target, filepath.Join(dir, l)); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runStrata(t, "", "validate", dir)
			if code != 1 || out != "" {
				t.Errorf("exit %d, stdout %q, want 1 and nothing", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// validateJob is a Job named name; manualSelector, when not empty, is
// its spec.manualSelector.
func validateJob(name, manualSelector string) string {
	spec := "spec:\n"
	if manualSelector != "" {
		spec += "  manualSelector: " + manualSelector + "\n  selector: {matchLabels: {app: j}}\n"
	}
	return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\n" + spec +
		"  template:\n    metadata: {labels: {app: j}}\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n"
}

func validateCronJob(name string) string {
	return "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: " + name + "\nspec:\n  schedule: \"* * * * *\"\n" +
		"  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox}]\n"
}

func validateStatefulSet(name string) string {
	return "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: " + name + "\nspec:\n  serviceName: s\n" +
		"  selector: {matchLabels: {app: s}}\n  template:\n    metadata: {labels: {app: s}}\n    spec:\n      containers: [{name: c, image: busybox}]\n"
}

// TestValidateLocalBlocksValid checks that validate accepts what the API
// server accepts: RBAC names with colons, long ConfigMap names, label-bound
// names that fit (a Job's 63 characters, a CronJob's and a StatefulSet's
// 52, any length for a Job with its own selector), a hook without a name
// that the install does not run (install.disable_hooks), the same name in
// two namespaces, and links that stay in the stack.
func TestValidateLocalBlocksValid(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.hcl": validateKust + "\nkustomization \"other\" {\n  path = \"other\"\n}\n\nrelease \"web\" {\n  namespace = \"web\"\n  chart     = \"chart\"\n}\n" +
			// Values not known at validate: the chart and the
			// kustomization are not rendered (they need them).
			"\nvariable \"pw\" {\n  sensitive = true\n}\n\nrelease \"db\" {\n  namespace = \"db\"\n  chart     = \"db\"\n  values    = { auth = { password = var.pw } }\n}\n" +
			"\nkustomization \"subst\" {\n  path       = \"subst\"\n  substitute = { name = env(\"APP_NAME\") }\n}\n" +
			// Values from the cluster: not read, the chart not rendered.
			"\nrelease \"nohooks\" {\n  namespace = \"nohooks\"\n  chart     = \"hooked\"\n  install {\n    disable_hooks = true\n  }\n}\n" +
			"\nrelease \"dbfrom\" {\n  namespace = \"dbfrom\"\n  chart     = \"db\"\n  values_from {\n    kind        = \"Secret\"\n    name        = \"db\"\n    key         = \"password\"\n    target_path = \"auth.password\"\n  }\n}\n",
		"db/Chart.yaml":            strings.Replace(validateCR, "web", "db", 1),
		"db/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  pw: {{ required \"auth.password is required\" .Values.auth.password }}\n",
		"subst/kustomization.yaml": "resources: [cm.yaml]\n",
		"subst/cm.yaml":            strings.Replace(validateCM, "name: settings", "name: ${name}", 1),
		"app/kustomization.yaml":   "resources: [role.yaml, cm.yaml, shared.yaml, job.yaml, manual.yaml, cron.yaml, sts.yaml]\n",
		"app/job.yaml":             validateJob(strings.Repeat("j", 63), ""),
		"app/manual.yaml":          validateJob(strings.Repeat("m", 64), "true"),
		"app/cron.yaml":            validateCronJob(strings.Repeat("c", 52)),
		"app/sts.yaml":             validateStatefulSet(strings.Repeat("s", 52)),
		"app/role.yaml":            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: system:strata:reader\nrules: []\n",
		"app/cm.yaml":              strings.Replace(validateCM, "name: settings", "name: "+strings.Repeat("c", 100), 1),
		"files/shared.yaml":        strings.Replace(validateCM, "name: settings", "name: shared", 1),
		"other/kustomization.yaml": "namespace: other\nresources: [cm.yaml]\n",
		"other/cm.yaml":            validateCM,
		"chart/Chart.yaml":         validateCR,
		"chart/templates/cm.yaml":  validateCM,
		// An unnamed hook that the install does not run.
		"hooked/Chart.yaml":         strings.Replace(validateCR, "web", "hooked", 1),
		"hooked/templates/ran.yaml": validateHook,
		// An unnamed delete hook that no remediation runs: a failed
		// install is kept (Flux's default), a failed upgrade rolled back.
		"chart/templates/del.yaml": validateDeleteHook,
	})
	if err := os.Symlink(filepath.Join(dir, "files", "shared.yaml"), filepath.Join(dir, "app", "shared.yaml")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runStrata(t, "", "validate", dir)
	if code != 0 || !strings.Contains(out, "Success!") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// TestValidateHidesSensitiveNames checks that an invalid object name made
// of a sensitive value is reported without the value.
func TestValidateHidesSensitiveNames(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.hcl": "variable \"n\" {\n  default   = \"Secret_Name\"\n  sensitive = true\n}\n\n" +
			"kustomization \"app\" {\n  path       = \"app\"\n  substitute = { n = var.n }\n}\n",
		"app/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/cm.yaml":            strings.Replace(validateCM, "name: settings", "name: ${n}", 1),
	})
	code, _, errOut := runStrata(t, "", "validate", dir)
	if code != 1 || !strings.Contains(errOut, "Invalid object name") || !strings.Contains(errOut, "main.hcl:7:") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "Secret_Name") {
		t.Errorf("stderr shows the sensitive value:\n%s", errOut)
	}
}

// TestValidateScrubsSensitiveValues checks the last line of defence: a
// sensitive value of the stack that shows up in a finding's text (here a
// chart's own failure message) is replaced.
func TestValidateScrubsSensitiveValues(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.hcl": "variable \"token\" {\n  default   = \"tok-12345\"\n  sensitive = true\n}\n\n" +
			"locals {\n  t = var.token\n}\n\nrelease \"web\" {\n  chart = \"chart\"\n}\n",
		"chart/Chart.yaml":        validateCR,
		"chart/templates/cm.yaml": "{{ fail \"the token is tok-12345\" }}\n",
	})
	code, _, errOut := runStrata(t, "", "validate", dir)
	if code != 1 || !strings.Contains(errOut, "Chart does not render") || !strings.Contains(errOut, "the token is (sensitive value)") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "tok-12345") {
		t.Errorf("stderr shows the sensitive value:\n%s", errOut)
	}
}
