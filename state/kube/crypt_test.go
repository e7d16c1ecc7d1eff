package kube_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/crypt"
	"github.com/strata-gitops/strata/state/kube"
	"github.com/strata-gitops/strata/state/statetest"
)

// TestEncryption runs the encryption conformance suite on the kubernetes
// backend: with a key, no Secret of the state (names and data, decompressed
// where it is gzip) holds any of the state's names.
func TestEncryption(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-encryption")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	statetest.TestEncryption(t, func(t *testing.T) (func(*crypt.Key) state.Store, func() []byte) {
		name := testcluster.UniqueName("s")
		open := func(key *crypt.Key) state.Store {
			s, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: ns, Name: name, LeaseDuration: time.Minute, ChunkSize: 64 << 10, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		raw := func() []byte {
			list, err := cs.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{LabelSelector: kube.LabelState + "=" + name})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) == 0 {
				t.Fatal("the state has no Secrets")
			}
			var all bytes.Buffer
			for _, sec := range list.Items {
				all.WriteString(sec.Name + "\n")
				for k, v := range sec.Data {
					all.WriteString(k + "\n")
					all.Write(v)
					if zr, err := gzip.NewReader(bytes.NewReader(v)); err == nil {
						b, _ := io.ReadAll(zr)
						all.Write(b)
					}
				}
			}
			return all.Bytes()
		}
		return open, raw
	})
}

// TestConformanceEncrypted runs the conformance suite on an encrypted state.
func TestConformanceEncrypted(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-conf-enc")
	key, err := crypt.PassphraseForTests("conformance", 10)
	if err != nil {
		t.Fatal(err)
	}
	statetest.TestStore(t, func(t *testing.T) func() state.Store {
		name := testcluster.UniqueName("s")
		return func() state.Store {
			s, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: ns, Name: name, LeaseDuration: time.Minute,
				RenewInterval: 15 * time.Second, ChunkSize: 64 << 10, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}
