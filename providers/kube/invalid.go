package kube

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// InvalidRefusal is the API server's dry run refusing an object itself as
// invalid (422 Invalid: a malformed data key, a port out of range), apart
// from a change of an immutable field (a replace, see ImmutableRefusal):
// applying the object would fail the same way.
type InvalidRefusal struct {
	// Ref is the refused object.
	Ref ObjectRef `json:"-"`
	// Message is the server's reasons, "FIELD: REASON; ..." (the refused
	// values left out), or its message when it names no field.
	Message string `json:"message"`
}

// Error says that the API server refuses the object and why.
func (r *InvalidRefusal) Error() string {
	return "refused by the API server as invalid: " + r.Message
}

// invalidRefusal returns the refusal err is when the server refused the
// object as invalid for a reason other than an immutable field, or nil.
func invalidRefusal(ref ObjectRef, err error) *InvalidRefusal {
	if !apierrors.IsInvalid(err) || isImmutable(err) {
		return nil
	}
	return &InvalidRefusal{Ref: ref, Message: invalidCauses(err)}
}

// InvalidRefusalOf returns the refusal err is when it is the *ObjectError
// of an object whose dry run the server refused as invalid (not for an
// immutable field), or nil.
func InvalidRefusalOf(err error) *InvalidRefusal {
	var oe *ObjectError
	if !errors.As(err, &oe) {
		return nil
	}
	return invalidRefusal(oe.Ref, oe.Err)
}

// diffInvalid describes the change of an object whose dry run the server
// refused as invalid (r): what the object would become, as for a refusal
// of the admission chain, with the refusal, which the planner makes an
// error at the object. An object that would not change keeps no refusal:
// apply does not send it.
func (d *differ) diffInvalid(ctx context.Context, t *target, r *InvalidRefusal) (Change, error) {
	c, err := d.diffRefused(ctx, t, nil)
	if err == nil && c.Action != ActionNoop {
		c.Invalid = r
	}
	return c, err
}
