package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/helmserver"
)

// mlopsExample is the stack of examples/mlops-platform.
const mlopsExample = "../../examples/mlops-platform"

// mlopsTiers are the example's blocks by tier: each block of a tier
// depends, directly or not, on every block of the tier before.
var mlopsTiers = [][]string{
	{"kustomization.platform_base"},
	{"release.strimzi_kafka_operator", "release.external_secrets"},
	{"kustomization.data_services", "release.minio"},
	{"kustomization.ml_services", "release.mlflow", "release.airflow"},
}

var mlopsEnvironments = []string{"development", "staging", "production"}

// TestMLOpsExampleValidateAndGraph checks that the example validates, with
// each of its environments, and that its graph orders the four tiers.
func TestMLOpsExampleValidateAndGraph(t *testing.T) {
	// validate checks every environment: its values and its overlays.
	code, stdout, stderr := runCLI(t, "validate", mlopsExample)
	if code != 0 || !strings.Contains(stdout, "Success! The stack is valid (13 blocks, 3 environments).") {
		t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	code, dot, stderr := runCLI(t, "graph", mlopsExample)
	if code != 0 {
		t.Fatalf("graph: exit %d\n%s", code, stderr)
	}
	deps := graphEdges(dot)
	tier := map[string]int{}
	for i, blocks := range mlopsTiers {
		for _, b := range blocks {
			tier[b] = i
		}
	}
	for from, tos := range deps {
		for _, to := range tos {
			if strings.HasPrefix(to, "source.") {
				continue
			}
			if tier[from] < tier[to] {
				t.Errorf("graph: %s (tier %d) depends on %s of a later tier (%d)", from, tier[from]+1, to, tier[to]+1)
			}
		}
	}
	for i := 1; i < len(mlopsTiers); i++ {
		for _, b := range mlopsTiers[i] {
			reach := reachable(deps, b)
			for _, before := range mlopsTiers[i-1] {
				if !reach[before] {
					t.Errorf("graph: %s (tier %d) does not depend on %s (tier %d)\n%s", b, i+1, before, i, dot)
				}
			}
		}
	}
}

var dotEdge = regexp.MustCompile(`(?m)^\s*"([^"]+)" -> "([^"]+)"`)

// graphEdges returns the edges of a DOT graph: block -> what it depends on.
func graphEdges(dot string) map[string][]string {
	out := map[string][]string{}
	for _, m := range dotEdge.FindAllStringSubmatch(dot, -1) {
		out[m[1]] = append(out[m[1]], m[2])
	}
	return out
}

// reachable returns what from depends on, directly or transitively.
func reachable(deps map[string][]string, from string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		for _, d := range deps[n] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(from)
	return seen
}

// TestMLOpsExample applies the development environment of
// examples/mlops-platform to the local cluster, with stand-in charts
// served by the in-process chart repository and the test playing the
// Strimzi and External Secrets operators; re-plans it clean; corrects a
// drift; and plans all three environments as one pull request comment. It
// checks that the blocks became ready tier by tier, the health checks
// waiting for the Kafka's and the ExternalSecret's Ready condition.
func TestMLOpsExample(t *testing.T) {
	c := testcluster.Get(t)
	repo := helmserver.New(t, helmserver.Options{})
	for _, ch := range mlopsStandInCharts(t) {
		repo.AddChart(t, ch)
	}
	dir := filepath.Join(t.TempDir(), "mlops-platform")
	copyTree(t, mlopsExample, dir)
	// Each environment in its own namespaces, so that all three share the
	// test cluster, and none collides with another run.
	prefix := testcluster.UniqueName("mlops")
	nsPrefix := map[string]string{}
	for _, env := range mlopsEnvironments {
		nsPrefix[env] = prefix + "-" + env[:3] + "-"
		appendFile(t, filepath.Join(dir, "environments", env+".vars.hcl"), "namespace_prefix = \""+nsPrefix[env]+"\"\n")
	}
	common := []string{"--kubeconfig=" + mlopsKubeconfig(t, c), "--var", "chart_repository_url=" + repo.URL()}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append(args, common...)...)
	}
	t.Cleanup(func() {
		if code, stdout, stderr := cli("destroy", dir, "-e", "development", "--auto-approve"); code != 0 {
			t.Logf("destroy: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	dev := nsPrefix["development"]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	op := &standInOperators{dyn: dynamic.NewForConfigOrDie(c.RESTConfig()), kube: kubernetes.NewForConfigOrDie(c.RESTConfig()),
		dataNS: dev + "data-plane", mlNS: dev + "ml-lifecycle", ready: map[string]time.Time{}}
	go op.run(ctx)

	// Apply the development environment, line by line with the time.
	out := &timedLines{}
	a := &app{stdin: strings.NewReader(""), stdout: out, stderr: out, getenv: func(string) string { return "" }}
	code := a.run(append([]string{"apply", dir, "-e", "development", "--auto-approve"}, common...))
	if code != 0 || !strings.Contains(out.String(), "Apply complete!") {
		t.Fatalf("apply development: exit %d\n%s", code, out)
	}
	cancel()
	checkTierOrder(t, out)
	kafkaReady, secretsReady := op.readyAt("Kafka/mlops-kafka-cluster"), op.readyAt("ExternalSecret/mlflow-db-credentials")
	if kafkaReady.IsZero() || secretsReady.IsZero() {
		t.Fatalf("the stand-in operators never made the Kafka (%v) or the ExternalSecret (%v) ready\n%s", kafkaReady, secretsReady, out)
	}
	if done := out.at("kustomization.data_services: Complete"); done.Before(kafkaReady) {
		t.Errorf("data_services complete at %s, before the Kafka was Ready at %s", done.Format(time.StampMilli), kafkaReady.Format(time.StampMilli))
	}
	if done := out.at("kustomization.ml_services: Complete"); done.Before(secretsReady) {
		t.Errorf("ml_services complete at %s, before the ExternalSecret was Ready at %s", done.Format(time.StampMilli), secretsReady.Format(time.StampMilli))
	}
	// The environment's variables reached the releases' values.
	if got := c.Kubectl(t, "-n", dev+"data-plane", "get", "deployment", "minio", "-o", "jsonpath={.spec.template.spec.containers[0].args}"); !strings.Contains(got, "--mode=standalone") || !strings.Contains(got, "--volume-size=10Gi") {
		t.Errorf("minio's arguments: %s", got)
	}
	// The Kafka cluster's CRD came from the Strimzi release of the same apply.
	if got := c.Kubectl(t, "-n", dev+"data-plane", "get", "kafkatopics.kafka.strimzi.io", "-o", "name"); strings.Count(got, "kafkatopic") != 3 {
		t.Errorf("topics in the cluster: %q", got)
	}

	code, stdout, stderr := cli("plan", dir, "-e", "development", "--detailed-exitcode")
	if code != 0 || !strings.Contains(stdout, "No changes.") {
		t.Errorf("re-plan of development: exit %d, want 0\n%s%s", code, stdout, stderr)
	}

	// A drift: someone scales a topic by hand; drift reports it and
	// --correct puts the overlay's value back.
	c.Kubectl(t, "-n", dev+"data-plane", "patch", "kafkatopics.kafka.strimzi.io", "training-events", "--type=merge", "-p", `{"spec":{"partitions":6}}`)
	code, stdout, stderr = cli("drift", dir, "-e", "development")
	if code != 2 || !strings.Contains(stdout, "KafkaTopic.kafka.strimzi.io/"+dev+"data-plane/training-events") || !strings.Contains(stdout, "spec.partitions") {
		t.Errorf("drift: exit %d, want 2 naming the topic's partitions\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := cli("drift", dir, "-e", "development", "--correct"); code != 0 {
		t.Errorf("drift --correct: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := c.Kubectl(t, "-n", dev+"data-plane", "get", "kafkatopics.kafka.strimzi.io", "training-events", "-o", "jsonpath={.spec.partitions}"); got != "3" {
		t.Errorf("partitions after drift --correct: %q, want 3", got)
	}

	// All three environments in one plan: the pull request comment's table
	// shows development without changes, the others with their platform
	// to create in their own namespaces, with their overlay's sizes.
	code, stdout, stderr = cli("plan", dir, "--all-environments", "--detailed-exitcode", "-o", "markdown")
	if code != 2 {
		t.Errorf("plan --all-environments: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	for _, row := range []string{"| `development` | 0 | 0 | 0 | 0 | no changes |", "| `staging` | 29 | 0 | 0 | 0 | changes |", "| `production` | 29 | 0 | 0 | 0 | changes |"} {
		if !strings.Contains(stdout, row) {
			t.Errorf("plan --all-environments -o markdown lacks the row %q:\n%s", row, stdout)
		}
	}
	_, production, _ := strings.Cut(stdout, "<b>production</b>")
	staging, _, _ := strings.Cut(stdout, "<b>production</b>")
	_, staging, _ = strings.Cut(staging, "<b>staging</b>")
	for section, want := range map[string][]string{
		staging:    {nsPrefix["staging"] + "data-plane/mlops-kafka-cluster", `spec.storage.volumes[0].size: "50Gi"`, `spec.replicas: 3`},
		production: {nsPrefix["production"] + "data-plane/mlops-kafka-cluster", `spec.storage.volumes[0].size: "500Gi"`, `spec.replicas: 5`, `spec.hard["requests.cpu"]: "16"`},
	} {
		for _, w := range want {
			if !strings.Contains(section, w) {
				t.Errorf("plan --all-environments: a section lacks %q:\n%s", w, section)
			}
		}
		if strings.Contains(section, nsPrefix["development"]) {
			t.Errorf("plan --all-environments: a section touches development's namespaces:\n%s", section)
		}
	}
}

// mlopsKubeconfig writes a kubeconfig with the contexts of the example's
// environments, mlops-NAME, each for the test cluster.
func mlopsKubeconfig(t *testing.T, c *testcluster.Cluster) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	current := cfg.Contexts[cfg.CurrentContext]
	if current == nil {
		t.Fatalf("kubeconfig %s has no current context", c.Kubeconfig())
	}
	for _, env := range mlopsEnvironments {
		cfg.Contexts["mlops-"+env] = current.DeepCopy()
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkTierOrder checks in apply output that every block of a tier started
// after every block of the tier before had completed.
func checkTierOrder(t *testing.T, out *timedLines) {
	t.Helper()
	for i := 1; i < len(mlopsTiers); i++ {
		for _, b := range mlopsTiers[i] {
			start := out.index(b + ": Applying...")
			if start < 0 {
				t.Errorf("%s never started\n%s", b, out)
				continue
			}
			for _, before := range mlopsTiers[i-1] {
				done := out.index(before + ": Complete after")
				if done < 0 || done > start {
					t.Errorf("%s started (line %d) before %s completed (line %d)\n%s", b, start, before, done, out)
				}
			}
		}
	}
}

// timedLines records what is written to it line by line, with the time
// each line was written.
type timedLines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []string
	times []time.Time
	part  string
}

func (w *timedLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	s := w.part + string(p)
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, s[:i])
		w.times = append(w.times, time.Now())
		s = s[i+1:]
	}
	w.part = s
	return len(p), nil
}

func (w *timedLines) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// index returns the number of the first line starting with prefix, or -1.
func (w *timedLines) index(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.IndexFunc(w.lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// at returns when the first line starting with prefix was written.
func (w *timedLines) at(prefix string) time.Time {
	i := w.index(prefix)
	if i < 0 {
		return time.Time{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.times[i]
}

// standInOperators plays the Strimzi cluster operator and the External
// Secrets Operator for one environment: a Kafka is reported NotReady, then
// Ready a moment later; an ExternalSecret gets its target Secret and is
// reported Ready.
type standInOperators struct {
	dyn          dynamic.Interface
	kube         kubernetes.Interface
	dataNS, mlNS string

	mu    sync.Mutex
	ready map[string]time.Time // "Kind/name" -> when it was reported Ready
}

var (
	kafkaGVR          = schema.GroupVersionResource{Group: "kafka.strimzi.io", Version: "v1beta2", Resource: "kafkas"}
	externalSecretGVR = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1", Resource: "externalsecrets"}
)

func (o *standInOperators) run(ctx context.Context) {
	for ctx.Err() == nil {
		o.reconcileKafkas(ctx)
		o.reconcileExternalSecrets(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (o *standInOperators) readyAt(key string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ready[key]
}

func (o *standInOperators) markReady(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.ready[key]; ok {
		return false
	}
	o.ready[key] = time.Now()
	return true
}

// reconcileKafkas reports each new Kafka NotReady ("Creating") and, two
// seconds later, Ready, as Strimzi does once the brokers run.
func (o *standInOperators) reconcileKafkas(ctx context.Context) {
	ri := o.dyn.Resource(kafkaGVR).Namespace(o.dataNS)
	list, err := ri.List(ctx, metav1.ListOptions{})
	if err != nil {
		return // the CRD is not served yet
	}
	for _, k := range list.Items {
		if o.readyAt("Kafka/"+k.GetName()).IsZero() && conditionOf(&k, "Ready") == "" {
			setCondition(ctx, ri, k.GetName(), "False", "Creating")
			go func(name string) {
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
					if o.markReady("Kafka/" + name) {
						setCondition(ctx, ri, name, "True", "Ready")
					}
				}
			}(k.GetName())
		}
	}
}

// reconcileExternalSecrets writes each new ExternalSecret's target Secret
// with stand-in values and reports it Ready.
func (o *standInOperators) reconcileExternalSecrets(ctx context.Context) {
	ri := o.dyn.Resource(externalSecretGVR).Namespace(o.mlNS)
	list, err := ri.List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, es := range list.Items {
		key := "ExternalSecret/" + es.GetName()
		if !o.readyAt(key).IsZero() {
			continue
		}
		target, _, _ := unstructured.NestedString(es.Object, "spec", "target", "name")
		data, _, _ := unstructured.NestedSlice(es.Object, "spec", "data")
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: target, Namespace: o.mlNS}, StringData: map[string]string{}}
		for _, d := range data {
			if k, ok := d.(map[string]any)["secretKey"].(string); ok {
				sec.StringData[k] = "stand-in"
			}
		}
		if _, err := o.kube.CoreV1().Secrets(o.mlNS).Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			continue
		}
		if o.markReady(key) {
			setCondition(ctx, ri, es.GetName(), "True", "SecretSynced")
		}
	}
}

// conditionOf returns the status of u's condition typ, "" when it has none.
func conditionOf(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if c, ok := c.(map[string]any); ok && c["type"] == typ {
			s, _ := c["status"].(string)
			return s
		}
	}
	return ""
}

// copyTree copies the directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == ".strata" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, name, s string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// mlopsStandInCharts are small charts with the names, versions within the
// example's constraints, values and CRDs of the charts the example
// installs: each runs one Deployment (kwok makes its pods Running) and
// renders the values the example sets, so that plans show them.
func mlopsStandInCharts(t *testing.T) []*chart.Chart {
	t.Helper()
	deployment := func(name, replicas, extra string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  labels: {app.kubernetes.io/name: ` + name + `, app.kubernetes.io/instance: {{ .Release.Name }}}
spec:
  replicas: ` + replicas + `
  selector: {matchLabels: {app.kubernetes.io/name: ` + name + `}}
  template:
    metadata: {labels: {app.kubernetes.io/name: ` + name + `}}
    spec:
      containers:
        - name: main
          image: registry.example.com/stand-in/` + name + `:{{ .Chart.AppVersion }}
` + extra
	}
	return []*chart.Chart{
		standInChart(t, "strimzi-kafka-operator", "0.45.0",
			"replicas: 1\nwatchNamespaces: []\nwatchAnyNamespace: false\ndefaultImageRegistry: quay.io\n",
			map[string]string{"templates/operator.yaml": deployment("strimzi-cluster-operator", "{{ .Values.replicas }}", `          env:
            - name: STRIMZI_NAMESPACE
              value: {{ join "," .Values.watchNamespaces | quote }}
            - name: STRIMZI_IMAGE_REGISTRY
              value: {{ .Values.defaultImageRegistry | quote }}
`)},
			map[string]string{
				"crds/040-Crd-kafka.yaml":         standInCRD("kafka.strimzi.io", "v1beta2", "Kafka", "kafkas"),
				"crds/045-Crd-kafkanodepool.yaml": standInCRD("kafka.strimzi.io", "v1beta2", "KafkaNodePool", "kafkanodepools"),
				"crds/043-Crd-kafkatopic.yaml":    standInCRD("kafka.strimzi.io", "v1beta2", "KafkaTopic", "kafkatopics"),
			}),
		standInChart(t, "external-secrets", "0.19.2", "installCRDs: true\nreplicaCount: 1\n",
			map[string]string{"templates/controller.yaml": deployment("external-secrets", "{{ .Values.replicaCount }}", "")},
			// The real chart renders its CRDs as templates (installCRDs);
			// here they are in crds/, so that three releases of the chart
			// can share the test cluster.
			map[string]string{
				"crds/secretstore.yaml":    standInCRD("external-secrets.io", "v1", "SecretStore", "secretstores"),
				"crds/externalsecret.yaml": standInCRD("external-secrets.io", "v1", "ExternalSecret", "externalsecrets"),
			}),
		standInChart(t, "minio", "5.4.0",
			"mode: standalone\nreplicas: 1\nresources: {}\npersistence: {size: 1Gi, storageClass: \"\"}\nbuckets: []\n",
			map[string]string{
				"templates/minio.yaml": deployment("minio", "{{ .Values.replicas }}", `          args: [server, --mode={{ .Values.mode }}, --volume-size={{ .Values.persistence.size }}, --storage-class={{ .Values.persistence.storageClass }}]
          resources: {{ toJson .Values.resources }}
`),
				"templates/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: minio\nspec:\n  selector: {app.kubernetes.io/name: minio}\n  ports: [{name: api, port: 9000}]\n",
			}, nil),
		standInChart(t, "mlflow", "1.12.0",
			"replicaCount: 1\nresources: {}\nbackendStore: {postgres: {host: \"\"}, existingDatabaseSecret: {name: \"\", usernameKey: username, passwordKey: password}}\n",
			map[string]string{
				"templates/mlflow.yaml": deployment("mlflow", "{{ .Values.replicaCount }}", `          resources: {{ toJson .Values.resources }}
          env:
            - name: MLFLOW_BACKEND_STORE_HOST
              value: {{ .Values.backendStore.postgres.host | quote }}
            - name: PGPASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ .Values.backendStore.existingDatabaseSecret.name }}
                  key: {{ .Values.backendStore.existingDatabaseSecret.passwordKey }}
`),
				"templates/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: mlflow\nspec:\n  selector: {app.kubernetes.io/name: mlflow}\n  ports: [{name: http, port: 5000}]\n",
			}, nil),
		standInChart(t, "airflow", "1.16.0",
			"executor: CeleryExecutor\ndata: {metadataSecretName: \"\"}\nscheduler: {replicas: 1, resources: {}}\nwebserver: {replicas: 1, resources: {}}\n",
			map[string]string{
				"templates/scheduler.yaml": deployment("airflow-scheduler", "{{ .Values.scheduler.replicas }}", `          resources: {{ toJson .Values.scheduler.resources }}
          env:
            - name: AIRFLOW__CORE__EXECUTOR
              value: {{ .Values.executor | quote }}
            - name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
              valueFrom:
                secretKeyRef: {name: {{ .Values.data.metadataSecretName }}, key: connection}
`),
				"templates/webserver.yaml": deployment("airflow-webserver", "{{ .Values.webserver.replicas }}", `          resources: {{ toJson .Values.webserver.resources }}
`),
			}, nil),
	}
}

// standInChart builds a chart from its default values and files.
func standInChart(t *testing.T, name, version, values string, templates, files map[string]string) *chart.Chart {
	t.Helper()
	vals, err := chartutil.ReadValues([]byte(values))
	if err != nil {
		t.Fatalf("chart %s values: %v", name, err)
	}
	ch := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: version, AppVersion: version, Type: "application",
			Description: "A stand-in for the " + name + " chart, for tests."},
		Values: vals,
		Raw:    []*chart.File{{Name: chartutil.ValuesfileName, Data: []byte(values)}},
	}
	for _, n := range sortedKeys(templates) {
		ch.Templates = append(ch.Templates, &chart.File{Name: n, Data: []byte(templates[n])})
	}
	for _, n := range sortedKeys(files) {
		ch.Files = append(ch.Files, &chart.File{Name: n, Data: []byte(files[n])})
	}
	return ch
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// standInCRD is a namespaced CRD with a status subresource and an open
// schema.
func standInCRD(group, version, kind, plural string) string {
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ` + plural + `.` + group + `
spec:
  group: ` + group + `
  scope: Namespaced
  names: {plural: ` + plural + `, singular: ` + strings.ToLower(kind) + `, kind: ` + kind + `, listKind: ` + kind + `List}
  versions:
    - name: ` + version + `
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
            status: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
}
