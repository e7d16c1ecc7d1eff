package kube

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestInvalidRefusal checks which errors of a dry run are the server's
// refusal of the object itself (a plan error at the object) and which
// still fail the plan: only 422 Invalid that is not an immutable field.
func TestInvalidRefusal(t *testing.T) {
	ref := ObjectRef{Version: "v1", Kind: "Service", Namespace: "a", Name: "web"}
	invalid := func(causes ...metav1.StatusCause) error {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, "web", toFieldErrors(causes))
	}
	gr := schema.GroupResource{Resource: "services"}
	tests := map[string]struct {
		err  error
		want string // "" when err is no refusal of the object
	}{
		"port out of range": {
			err: invalid(metav1.StatusCause{Field: "spec.ports[0].port", Message: "Invalid value: 70000: must be between 1 and 65535"},
				metav1.StatusCause{Field: "spec.ports[0].targetPort", Message: "Invalid value: 70000: must be between 1 and 65535"}),
			want: "spec.ports[0].port: must be between 1 and 65535; spec.ports[0].targetPort: must be between 1 and 65535",
		},
		"immutable field (a replace)": {
			err: invalid(metav1.StatusCause{Field: "spec.clusterIPs[0]", Message: "Invalid value: x: may not change once set"}),
		},
		"forbidden":          {err: apierrors.NewForbidden(gr, "web", errors.New("no"))},
		"timeout":            {err: apierrors.NewTimeoutError("slow", 1)},
		"bad request":        {err: apierrors.NewBadRequest("bad")},
		"connection refused": {err: fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := RefusalOf(&ObjectError{Ref: ref, Op: "diff", Err: tc.err})
			switch {
			case tc.want == "" && r != nil:
				t.Fatalf("refusal %q, want none", r.Message)
			case tc.want != "" && (r == nil || r.Kind != RefusedAsInvalid || r.Message != tc.want || r.Ref != ref):
				t.Fatalf("refusal %+v, want %q at %s", r, tc.want, ref)
			}
		})
	}
	if RefusalOf(invalid()) != nil {
		t.Error("an Invalid error of no object is a refusal")
	}
}
