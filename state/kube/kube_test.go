package kube_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/kube"
	"github.com/strata-gitops/strata/state/statetest"
)

func TestMain(m *testing.M) {
	if os.Getenv("STRATA_KUBE_CHILD") != "" {
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	testcluster.Main(m)
}

func open(t *testing.T, ns, name string, lease time.Duration) *kube.Store {
	t.Helper()
	s, err := kube.Open(kube.Options{
		Config: testcluster.Get(t).RESTConfig(), Namespace: ns, Name: name,
		LeaseDuration: lease, RenewInterval: lease / 4, ChunkSize: 64 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-conformance")
	statetest.TestStore(t, func(t *testing.T) func() state.Store {
		name := testcluster.UniqueName("s")
		return func() state.Store { return open(t, ns, name, time.Minute) }
	})
}

// TestSegments checks that a large state is split over several compressed
// Secrets of at most the chunk size, that a write that changes one block
// creates only the segments of that block (and the header), and that every
// write leaves exactly the segments the index names.
func TestSegments(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-chunks")
	s := open(t, ns, "big", time.Minute)
	ctx := t.Context()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	// segments returns the segment Secrets by name, and checks that they are
	// exactly those the index names.
	segments := func(when string) map[string]bool {
		t.Helper()
		list, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelRole + "=chunk"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, sec := range list.Items {
			got[sec.Name] = true
			if strings.Contains(string(sec.Data["chunk"]), "app-000001") {
				t.Errorf("%s: segment %s is not compressed", when, sec.Name)
			}
			if n := len(sec.Data["chunk"]); n > 64<<10 {
				t.Errorf("%s: segment %s holds %d bytes, more than the chunk size", when, sec.Name, n)
			}
		}
		ix, err := cs.CoreV1().Secrets(ns).Get(ctx, "strata-state-big", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, id := range strings.Split(string(ix.Data["segments"]), ",") {
			want["strata-state-big-s-"+id] = true
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: segment Secrets are not those the index names (-index +cluster):\n%s", when, d)
		}
		return got
	}

	snap := statetest.Snapshot(5, 20000, "a")
	if err := s.Write(ctx, snap, state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	first := segments("first write")
	if len(first) < 10 {
		t.Fatalf("20,000 objects fit in %d segment(s) of 64 KiB; want a split", len(first))
	}

	// One block of five changes.
	objs := append([]state.Object(nil), snap.BlockObjects("kustomization.k002")...)
	for i := range objs {
		objs[i].ResourceVersion += "0"
	}
	snap.SetBlockObjects("kustomization.k002", objs)
	if err := s.Write(ctx, snap, state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	second := segments("one block changed")
	created := 0
	for name := range second {
		if !first[name] {
			created++
		}
	}
	if created == 0 || created > len(first)/5+2 {
		t.Errorf("changing one block of five created %d of %d segments; want about a fifth", created, len(second))
	}
	if got, err := s.Read(ctx); err != nil {
		t.Fatalf("read back: %v", err)
	} else if d := cmp.Diff(snap.Objects, got.Objects); d != "" {
		t.Fatalf("objects read back (-written +read):\n%s", d)
	}

	next := statetest.Snapshot(5, 20000, "b")
	next.Lineage, next.Serial = snap.Lineage, snap.Serial
	if err := s.Write(ctx, next, state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for name := range segments("everything changed") {
		if second[name] {
			t.Errorf("segment %s of the old state is still named", name)
		}
	}
}

// child holds the lock as a strata run would: it prints its lock ID, then
// for each line "write" on stdin writes a block and prints "ok" or the
// error.
func child() error {
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("STRATA_KUBE_KUBECONFIG"))
	if err != nil {
		return err
	}
	lease, _ := time.ParseDuration(os.Getenv("STRATA_KUBE_LEASE"))
	s, err := kube.Open(kube.Options{Config: cfg, Namespace: os.Getenv("STRATA_KUBE_NS"), Name: "shared", LeaseDuration: lease, RenewInterval: lease / 4})
	if err != nil {
		return err
	}
	id, err := s.Lock(ctx, state.LockInfo{Operation: "apply", Who: "child@ci"})
	if err != nil {
		return err
	}
	fmt.Println(id)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		_, err := state.Update(ctx, s, state.WriteOptions{LockID: id}, func(snap *state.Snapshot) error {
			snap.PutBlock(state.Block{Address: "kustomization.child", Kind: "kustomization", Status: state.StatusApplied})
			return nil
		})
		if err != nil {
			fmt.Println("error:", err)
		} else {
			fmt.Println("ok")
		}
	}
	return nil
}

type proc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
}

func startChild(t *testing.T, ns string, lease time.Duration) (*proc, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "STRATA_KUBE_CHILD=1", "STRATA_KUBE_NS="+ns,
		"STRATA_KUBE_KUBECONFIG="+testcluster.Get(t).Kubeconfig(), "STRATA_KUBE_LEASE="+lease.String())
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	p := &proc{cmd: cmd, in: in, lines: bufio.NewScanner(out)}
	if !p.lines.Scan() {
		t.Fatal("child did not report its lock")
	}
	return p, p.lines.Text()
}

// TestKilledHolder: while a child process holds the lock, a second run
// fails at once naming it; once the child is SIGKILLed its lease expires,
// the second run gets the lock, and a write under the dead child's lock is
// refused.
func TestKilledHolder(t *testing.T) {
	ns := testcluster.Get(t).Namespace(t, "state-killed")
	const lease = 4 * time.Second
	p, childID := startChild(t, ns, lease)
	s := open(t, ns, "shared", lease)
	ctx := t.Context()
	info := state.LockInfo{Operation: "apply", Who: "parent@ci"}

	_, err := s.Lock(ctx, info)
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Lock while the child holds it: got %v, want ErrLocked", err)
	}
	for _, want := range []string{childID, "child@ci", `"apply"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("lock error %q does not name %s", err, want)
		}
	}
	// The child renews its lease: waiting longer than the lease still fails.
	if _, err := state.LockWait(ctx, s, info, lease+2*time.Second); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("LockWait while the child renews: got %v, want ErrLocked", err)
	}

	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	killed := time.Now()
	id, err := state.LockWait(ctx, s, info, 30*time.Second)
	if err != nil {
		t.Fatalf("LockWait after the holder died: %v", err)
	}
	t.Logf("lock taken %s after the holder was killed (lease %s)", time.Since(killed).Round(100*time.Millisecond), lease)
	if _, err := state.Update(ctx, s, state.WriteOptions{LockID: id}, func(snap *state.Snapshot) error {
		snap.PutBlock(state.Block{Address: "kustomization.parent", Kind: "kustomization", Status: state.StatusApplied})
		return nil
	}); err != nil {
		t.Fatalf("write under the new lock: %v", err)
	}

	late := open(t, ns, "shared", lease)
	snap, err := late.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap.PutBlock(state.Block{Address: "kustomization.late", Kind: "kustomization"})
	if err := late.Write(ctx, snap, state.WriteOptions{LockID: childID}); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("write under the dead child's lock: got %v, want ErrLockLost", err)
	}
}

// TestFencing: a holder that stalls (SIGSTOP) past its lease loses the lock
// to another run; when it wakes up, its write is refused and the newer
// state stays.
func TestFencing(t *testing.T) {
	ns := testcluster.Get(t).Namespace(t, "state-fencing")
	const lease = 3 * time.Second
	p, _ := startChild(t, ns, lease)
	s := open(t, ns, "shared", lease)
	ctx := t.Context()

	p.cmd.Process.Signal(syscall.SIGSTOP)
	id, err := state.LockWait(ctx, s, state.LockInfo{Operation: "apply", Who: "parent@ci"}, 30*time.Second)
	if err != nil {
		t.Fatalf("LockWait while the holder is stopped: %v", err)
	}
	if _, err := state.Update(ctx, s, state.WriteOptions{LockID: id}, func(snap *state.Snapshot) error {
		snap.PutBlock(state.Block{Address: "kustomization.parent", Kind: "kustomization", Status: state.StatusApplied})
		return nil
	}); err != nil {
		t.Fatalf("write under the new lock: %v", err)
	}

	p.cmd.Process.Signal(syscall.SIGCONT)
	fmt.Fprintln(p.in, "write")
	if !p.lines.Scan() {
		t.Fatal("child did not answer")
	}
	if got := p.lines.Text(); !strings.Contains(got, state.ErrLockLost.Error()) {
		t.Errorf("late write of the stalled holder: %q, want a refusal (%v)", got, state.ErrLockLost)
	}
	snap, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Block("kustomization.child"); ok {
		t.Error("the stalled holder's late write reached the state")
	}
	if _, ok := snap.Block("kustomization.parent"); !ok {
		t.Error("the new holder's write is gone")
	}
	if err := s.Unlock(ctx, id); err != nil {
		t.Error(err)
	}
}

// TestOrphanChunksDeleted: chunks left by a writer that crashed before its
// flip are deleted by a later run once they are old.
func TestOrphanChunksDeleted(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-orphans")
	ctx := t.Context()
	s := open(t, ns, "o", time.Minute)
	if err := s.Write(ctx, statetest.Snapshot(1, 10, "a"), state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	orphan := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "strata-state-o-dead-0", Labels: map[string]string{
		kube.LabelState: "o", kube.LabelRole: "chunk", kube.LabelSet: "dead"}}}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A run now leaves the young orphan alone (it may be a write under way)...
	id, err := s.Lock(ctx, state.LockInfo{Operation: "apply", Who: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	s.Unlock(ctx, id)
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, orphan.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("young orphan deleted: %v", err)
	}
	// ...and a run an hour later deletes it, but not the current chunks.
	later, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: ns, Name: "o", Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	id, err = later.Lock(ctx, state.LockInfo{Operation: "apply", Who: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	later.Unlock(ctx, id)
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, orphan.Name, metav1.GetOptions{}); err == nil {
		t.Error("old orphan chunk still there")
	}
	if snap, err := later.Read(ctx); err != nil || len(snap.Objects) != 10 {
		t.Errorf("state after orphan cleanup: %v", err)
	}
}

// BenchmarkRead100k reads a state of 100,000 objects from the cluster, as
// a new process would (no cache).
func BenchmarkRead100k(b *testing.B) {
	s, _ := benchStore(b)
	for b.Loop() {
		r, err := kube.Open(kube.Options{Config: testcluster.Get(b).RESTConfig(), Namespace: s.Namespace(), Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		snap, err := r.Read(b.Context())
		if err != nil || len(snap.Objects) != 100_000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrite100k writes a state of 100,000 objects in which one block
// of 1,000 objects changed.
func BenchmarkWrite100k(b *testing.B) {
	s, snap := benchStore(b)
	i := 0
	for b.Loop() {
		i++
		objs := append([]state.Object(nil), snap.BlockObjects("kustomization.k007")...)
		for j := range objs {
			objs[j].ResourceVersion = fmt.Sprint(i)
		}
		snap.SetBlockObjects("kustomization.k007", objs)
		if err := s.Write(b.Context(), snap, state.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStore(b *testing.B) (*kube.Store, *state.Snapshot) {
	c := testcluster.Get(b)
	ns := c.Namespace(b, "state-bench")
	s, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: ns, Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	snap := statetest.Snapshot(100, 100_000, "a")
	if err := s.Write(b.Context(), snap, state.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	return s, snap
}

// hookClient calls onChunk before the first chunk Secret a write creates.
// A write creates its chunks in parallel, so onChunk is taken under mu.
type hookClient struct {
	kubernetes.Interface
	mu      sync.Mutex
	onChunk func()
}

func (h *hookClient) CoreV1() typedcorev1.CoreV1Interface {
	return &hookCore{CoreV1Interface: h.Interface.CoreV1(), h: h}
}

type hookCore struct {
	typedcorev1.CoreV1Interface
	h *hookClient
}

func (c *hookCore) Secrets(ns string) typedcorev1.SecretInterface {
	return &hookSecrets{SecretInterface: c.CoreV1Interface.Secrets(ns), h: c.h}
}

type hookSecrets struct {
	typedcorev1.SecretInterface
	h *hookClient
}

func (s *hookSecrets) Create(ctx context.Context, sec *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error) {
	if sec.Labels[kube.LabelRole] == "chunk" {
		s.h.mu.Lock()
		f := s.h.onChunk
		s.h.onChunk = nil
		s.h.mu.Unlock()
		if f != nil {
			f()
		}
	}
	return s.SecretInterface.Create(ctx, sec, opts)
}

// TestFencingMidWrite: a holder whose lease expires while it is writing
// (after its lock checks passed) loses to the run that took the lock over:
// its flip is refused and the newer state stays.
func TestFencingMidWrite(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-midwrite")
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	hc := &hookClient{Interface: cs}
	// A never renews: its lease runs out after a second.
	a, err := kube.Open(kube.Options{Client: hc, Namespace: ns, Name: "s", LeaseDuration: time.Second, RenewInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := open(t, ns, "s", time.Minute)
	idA, err := a.Lock(ctx, state.LockInfo{Operation: "apply", Who: "a@ci"})
	if err != nil {
		t.Fatal(err)
	}
	// B sees A's lease, and then sees it unchanged for its duration.
	if _, err := b.Lock(ctx, state.LockInfo{Operation: "apply", Who: "b@ci"}); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("B: Lock while A holds the lock: got %v, want ErrLocked", err)
	}
	time.Sleep(1200 * time.Millisecond)
	var idB string
	hc.onChunk = func() {
		// A has passed its checks; B takes the expired lock and writes.
		var err error
		if idB, err = b.Lock(ctx, state.LockInfo{Operation: "apply", Who: "b@ci"}); err != nil {
			t.Errorf("B: Lock: %v", err)
			return
		}
		if err := b.Write(ctx, statetest.Snapshot(1, 3, "b"), state.WriteOptions{LockID: idB}); err != nil {
			t.Errorf("B: Write: %v", err)
		}
	}
	err = a.Write(ctx, statetest.Snapshot(1, 3, "a"), state.WriteOptions{LockID: idA})
	if idB == "" {
		t.Fatal("the hook did not run")
	}
	if !errors.Is(err, state.ErrLockLost) {
		t.Errorf("A's write after B took over mid-write: got %v, want ErrLockLost", err)
	}
	snap, err := b.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tag, _ := statetest.ConsistentTag(snap); tag != "b" {
		t.Errorf("state holds tag %q, want B's", tag)
	}
}
