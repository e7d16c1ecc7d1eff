package kube

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestObjectErrorLostAnswer: a write whose connection to the API server
// was closed or reset before the answer says that it may have been made;
// a read, a refused connection and an answer of the server do not.
func TestObjectErrorLostAnswer(t *testing.T) {
	ref := ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "b3"}
	lost := func(err error) error {
		return &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/api/v1/namespaces/ns/configmaps/b3", Err: err}
	}
	tests := map[string]struct {
		op   string
		err  error
		want bool
	}{
		"create, EOF":                {"create", lost(io.EOF), true},
		"delete, connection reset":   {"delete", lost(syscall.ECONNRESET), true},
		"diff, EOF":                  {"diff", lost(io.EOF), false},
		"create, connection refused": {"create", lost(syscall.ECONNREFUSED), false},
		"create, server's answer":    {"create", apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "b3", errors.New("no")), false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			msg := (&ObjectError{Ref: ref, Op: tt.op, Err: tt.err}).Error()
			if got := strings.Contains(msg, "may have been made"); got != tt.want {
				t.Errorf("%q: says it may have been made: %v, want %v", msg, got, tt.want)
			}
		})
	}
}
