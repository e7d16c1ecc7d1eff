package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
)

// TestDriftSharesListsBetweenBlocks checks, unchanged, a stack of 6
// kustomizations whose objects (ConfigMaps and Services) live in two
// namespaces, and wants their metadata listed once per kind and namespace
// for all the blocks (4 lists), with the stack's selector: every block
// used to list each of its kinds itself (12 lists), one block after the
// other, which made a drift check of 50,000 objects in 500 kustomizations
// wait for 2,500 lists in 500 rounds. An object moved to another block by
// hand (its block label changed) is reported as before, and found in the
// shared lists without a get of the scan's own (the dry run that names its
// changed field reads it once). A check of some of the blocks
// lists only their objects, and a check of one block lists as before.
func TestDriftSharesListsBetweenBlocks(t *testing.T) {
	c := testcluster.Get(t)
	nss := []string{c.Namespace(t, "dshare-a"), c.Namespace(t, "dshare-b")}
	files := map[string]string{"main.hcl": ""}
	const blocks = 6
	for i := 0; i < blocks; i++ {
		n := fmt.Sprintf("k%d", i)
		ns := nss[i%2]
		files["main.hcl"] += fmt.Sprintf("kustomization %q {\n  path = %q\n  wait = false\n}\n", n, n)
		var y strings.Builder
		for j := 0; j < 2; j++ {
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%s-%d, namespace: %s}\ndata: {k: v}\n", n, j, ns)
		}
		fmt.Fprintf(&y, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%s, namespace: %s}\nspec: {clusterIP: None, ports: [{port: 80}]}\n", n, ns)
		files[n+"/objects.yaml"] = y.String()
	}
	dir := writeStack(t, files)
	opts := testOptions(c, dir)
	applyStack(t, opts)
	c.Kubectl(t, "-n", nss[0], "label", "configmap", "cm-k0-0", "--overwrite", kube.LabelBlock+"=kustomization.k2")

	log := &requestLog{counts: map[string]int{}, selectors: map[string]bool{}}
	opts.RESTConfig.WrapTransport = log.wrap
	rep := checkDrift(t, opts)
	want := []string{"modified kustomization.k0/ConfigMap/" + nss[0] + "/cm-k0-0 metadata.labels[\"" + kube.LabelBlock + "\"]"}
	if d := cmp.Diff(want, summary(rep)); d != "" || rep.HasErrors() {
		t.Errorf("drift (-want +got):\n%s\nerrors: %+v", d, rep.Blocks)
	}
	lists, gets := 0, 0
	for k, n := range log.counts {
		switch k {
		case "GET /api/v1/namespaces/NS/configmaps", "GET /api/v1/namespaces/NS/services":
			lists += n
		case "GET /api/v1/namespaces/NS/configmaps/cm-k0-0":
			gets += n
		}
	}
	if lists != 4 || gets > 1 {
		t.Errorf("%d lists of the stack's objects (want 4: one per kind and namespace), %d gets of the relabelled object (want at most 1: the dry run's)\n%v",
			lists, gets, log.counts)
	}
	if sel := kube.LabelStack + "=" + StackName(dir); !log.selectors[sel] {
		t.Errorf("no list with the stack's selector %q: %v", sel, log.selectors)
	}

	// Some of the blocks: their objects only.
	some := &requestLog{counts: map[string]int{}, selectors: map[string]bool{}}
	opts.RESTConfig.WrapTransport = some.wrap
	checkDriftWith(t, opts, DriftOptions{Blocks: []string{"kustomization.k1", "kustomization.k3"}})
	for sel := range some.selectors {
		if strings.HasPrefix(sel, kube.LabelStack+"=") && !strings.HasSuffix(sel, kube.LabelBlock+" in (kustomization.k1,kustomization.k3)") {
			t.Errorf("the check of kustomization.k1 and .k3 listed with the selector %q, want their objects only", sel)
		}
	}
	// One block: its own lists, as before.
	one := &requestLog{counts: map[string]int{}, selectors: map[string]bool{}}
	opts.RESTConfig.WrapTransport = one.wrap
	checkDriftWith(t, opts, DriftOptions{Blocks: []string{"kustomization.k1"}})
	for sel := range one.selectors {
		if strings.HasPrefix(sel, kube.LabelStack+"=") && !strings.HasSuffix(sel, kube.LabelBlock+"=kustomization.k1") {
			t.Errorf("the check of kustomization.k1 listed with the selector %q, want the block's own", sel)
		}
	}
}
