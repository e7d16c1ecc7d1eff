package planner

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-gitops/strata/planner/config"
)

// childEnv makes the test binary run one apply and exit, so that tests can
// kill an apply process at any moment.
const childEnv = "STRATA_PLANNER_TEST_CHILD"

// childDieEnv makes the child exit with childDieCode, as if killed, right
// after the apply wrote its first object (before it records it).
const (
	childDieEnv  = "STRATA_PLANNER_TEST_DIE_AFTER_WRITE"
	childDieCode = 3
)

// childDieReleaseEnv ("namespace/name") makes the child exit with
// childDieCode, as if killed, as soon as Helm's storage holds the release
// it installs.
const childDieReleaseEnv = "STRATA_PLANNER_TEST_DIE_DURING_INSTALL"

// dieOnceInstalled exits with childDieCode once a record of release rel
// ("namespace/name") exists.
func dieOnceInstalled(cfg *rest.Config, rel string) {
	ns, name, _ := strings.Cut(rel, "/")
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return
	}
	for {
		list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + name})
		if err == nil && len(list.Items) > 0 {
			os.Exit(childDieCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// childMain plans and applies the stack in $STRATA_PLANNER_TEST_DIR against
// the kubeconfig in $STRATA_PLANNER_TEST_KUBECONFIG, with the variables in
// the arguments (NAME=VALUE).
func childMain() int {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("STRATA_PLANNER_TEST_KUBECONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := Options{Dir: os.Getenv("STRATA_PLANNER_TEST_DIR"), RESTConfig: cfg, Getenv: func(string) string { return "" }, Parallelism: 4}
	if os.Getenv(childDieEnv) != "" {
		opts.OnEvent = func(ev Event) {
			if ev.Type == ObjectEvent && ev.Object.Type == ObjectApplied {
				os.Exit(childDieCode) // no deferred call runs: the lock and the state stay as they are
			}
		}
	}
	if rel := os.Getenv(childDieReleaseEnv); rel != "" {
		opts.OnEvent = func(ev Event) {
			if ev.Type == ReleaseEvent && strings.HasPrefix(ev.Message, "started install") {
				go dieOnceInstalled(cfg, rel)
			}
		}
	}
	for _, a := range os.Args[1:] {
		if name, value, ok := strings.Cut(a, "="); ok {
			opts.Vars = append(opts.Vars, config.VarArg{Name: name, Value: value})
		}
	}
	e, diags := Load(opts)
	if diags.HasErrors() {
		fmt.Fprintln(os.Stderr, diags)
		return 1
	}
	ctx := context.Background()
	if err := e.Lock(ctx, "apply", 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer e.Unlock(ctx)
	p, err := e.Plan(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := e.Apply(ctx, p, ApplyOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
