// Package testcluster builds, starts and stops a real Kubernetes control plane
// made of plain processes: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (fake kubelets that make nodes Ready and pods
// Running), and the kubectl of the same Kubernetes version for tests.
//
// The binaries are built from the Go module proxy in throw-away modules
// outside strata's go.mod and cached per version under the user's cache
// directory, so only the first run on a machine pays for the build (several
// minutes); later starts take a few seconds.
//
// Tests use the cluster through Main and Get:
//
//	func TestMain(m *testing.M) { testcluster.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		c := testcluster.Get(t)
//		ns := c.Namespace(t, "demo")
//		cfg := c.RESTConfig()
//		c.Kubectl(t, "-n", ns, "get", "pods")
//		...
//	}
//
// Kubectl and KubectlCommand run the harness's kubectl by path (never one
// found on PATH) with the cluster's admin kubeconfig, and KubectlPath
// returns that path. kubectl is cached in its own entry beside the control
// plane's binaries, and `testcluster run` puts its directory first on PATH.
//
// Main attaches to the cluster named by $STRATA_TEST_CLUSTER (a directory
// written by Start, as `make test` does for the whole run) or starts a
// private cluster for the package and stops it afterwards. Every process the
// harness starts is stopped by PID, also when tests fail, panic or are
// interrupted; component logs stay in the cluster directory and their tails
// are printed when something fails.
//
// Files: cluster.go (Start, Attach and the Cluster's accessors), build.go
// (building and caching the binaries), kubectl.go, pki.go (certificates),
// process.go (spawning and stopping the components by PID), ready.go
// (waiting until the control plane and the node are ready), user.go
// (kubeconfigs of other users) and testing.go (Main and Get for tests).
package testcluster
