package kube

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// frozenAPIServer returns a rest.Config for a server that accepts requests
// and never answers.
func frozenAPIServer(t *testing.T) *rest.Config {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

// TestMappingHonoursContext checks that discovery stops when the context
// is cancelled: it used to ignore the context and wait for client-go's
// 32-second timeout, so SIGTERM did not stop a plan against a frozen API
// server.
func TestMappingHonoursContext(t *testing.T) {
	m, err := NewManager(frozenAPIServer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err = m.Mapping(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Mapping returned %s after the cancel", took-200*time.Millisecond)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestRequestTimeout checks that a request to a server that never answers
// fails after Options.RequestTimeout instead of waiting for ever.
func TestRequestTimeout(t *testing.T) {
	m, err := NewManager(frozenAPIServer(t), Options{RequestTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = m.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).
		Namespace("default").Get(context.Background(), "c", metav1.GetOptions{})
	if err == nil {
		t.Fatal("Get of a frozen server succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Get failed after %s, want about 300ms: %v", took, err)
	}
}
