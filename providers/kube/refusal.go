package kube

import (
	"context"
	"errors"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// RefusalKind says what refused an object.
type RefusalKind string

const (
	// RefusedByAdmission is the cluster's admission chain (a
	// ValidatingAdmissionPolicy, a validating webhook) refusing the dry
	// run of the object.
	RefusedByAdmission RefusalKind = "admission"
	// RefusedBySchema is the offline check against the schema of a CRD
	// that the plan creates or changes first refusing the object (an
	// unknown field, a wrong type).
	RefusedBySchema RefusalKind = "schema"
	// RefusedAsInvalid is the API server's dry run refusing the object
	// itself as invalid (422 Invalid: a malformed data key, a port out of
	// range), apart from a change of an immutable field (a replace, see
	// ImmutableRefusal).
	RefusedAsInvalid RefusalKind = "invalid"
)

// Refusal is an object that applying would fail on: the cluster, or the
// schema the object was checked against, refused it. Diff returns it on
// the object's change (Change.Refusal) instead of failing, so that the
// rest of the set is still diffed; Apply refuses a change set that holds
// one before it writes anything. It is also the error of a refused object
// (see RefusalOf).
type Refusal struct {
	// Kind says what refused the object.
	Kind RefusalKind `json:"kind"`
	// Ref is the refused object, when known.
	Ref ObjectRef `json:"-"`
	// By names what refused: ValidatingAdmissionPolicy/NAME, webhook/NAME
	// or policy/NAME for an admission refusal, the name of the CRD for a
	// schema refusal, "" for the API server's.
	By string `json:"by,omitempty"`
	// Message is why: the admission chain's message; for a schema
	// refusal each refused field with why ("spec.replicas: unknown
	// field; ..."); for an invalid object the server's reasons,
	// "FIELD: REASON; ..." (the refused values left out), or its message
	// when it names no field.
	Message string `json:"message"`
}

// Error says what refused the object and why.
func (r *Refusal) Error() string {
	switch r.Kind {
	case RefusedByAdmission:
		return "refused by " + r.By + ": " + r.Message
	case RefusedBySchema:
		return "refused by the schema of CRD " + r.By + ": " + r.Message
	}
	return "refused by the API server as invalid: " + r.Message
}

// Refuse records on c, the change of what the object would become, that
// applying it would fail for r. An unchanged object keeps no refusal as
// invalid: apply does not send it. It keeps a refusal of the admission
// chain (the cluster now refuses the object as it is) and of a schema
// (its CRD changes under it).
func (c *Change) Refuse(r *Refusal) {
	if r != nil && r.Kind == RefusedAsInvalid && c.Action == ActionNoop {
		return
	}
	c.Refusal = r
}

// diffRefused describes the change of an object whose dry run was
// refused (r; for a schema refusal, the check against its planned CRD):
// the server gave no answer, so After is the live object with the desired
// fields laid over it (or the desired object for a create), as for a
// schema-only check, and the change carries the refusal (Change.Refuse).
func (d *differ) diffRefused(ctx context.Context, t *target, r *Refusal) (Change, error) {
	c, err := d.overlaid(ctx, t)
	if err == nil {
		c.Refuse(r)
	}
	return c, err
}

// overlaid is the change of t computed without the server: the desired
// object laid over the live one.
func (d *differ) overlaid(ctx context.Context, t *target) (Change, error) {
	c := Change{Ref: t.ref, Desired: t.obj}
	live, err := d.liveOf(ctx, t)
	if err != nil {
		return c, err
	}
	if live == nil {
		c.Action, c.After = ActionCreate, mask(normalize(t.obj))
		return c, nil
	}
	d.m.fillLive(&c, live, d.opts, d.known[keyOf(t.ref)])
	before := normalize(live)
	if unchanged(t.obj, live) {
		c.Action, c.Before, c.After = ActionNoop, mask(before), mask(before)
		return c, nil
	}
	merged := &unstructured.Unstructured{Object: overlay(before.DeepCopy().Object, normalize(t.obj).Object).(map[string]any)}
	c.Fields = diffFields(before.Object, merged.Object)
	if isSecret(t.obj) {
		maskFields(c.Fields)
	}
	c.Before, c.After = mask(before), mask(merged)
	c.Action = ActionUpdate
	if len(c.Fields) == 0 {
		c.Action = ActionNoop
	} else {
		c.LiveDigest = liveDigest(live, before)
	}
	return c, nil
}

// RefusalOf returns the refusal err is or wraps, or nil: an admission
// refusal (any error of the admission chain), a schema refusal, or the
// server's refusal of an object as invalid (an *ObjectError, not for an
// immutable field). Ref is set when err is an *ObjectError.
func RefusalOf(err error) *Refusal {
	var oe *ObjectError
	var ref ObjectRef
	if errors.As(err, &oe) {
		ref = oe.Ref
	}
	if r := (*Refusal)(nil); errors.As(err, &r) {
		c := *r
		if oe != nil {
			c.Ref = ref
		}
		return &c
	}
	if r := admissionRefusal(err); r != nil {
		r.Ref = ref
		return r
	}
	if oe != nil {
		return invalidRefusal(ref, oe.Err)
	}
	return nil
}

var (
	vapDenied     = regexp.MustCompile(`ValidatingAdmissionPolicy '([^']+)'(?: with binding '([^']+)')? denied request: (?s)(.*)$`)
	policyDenied  = regexp.MustCompile(`policy '([^']+)'(?: with binding '([^']+)')? denied request: (?s)(.*)$`)
	webhookDenied = regexp.MustCompile(`admission webhook "([^"]+)" denied the request(?:: (?s)(.*)| without explanation)$`)
)

// admissionRefusal returns the refusal err is, or nil when err is not
// the admission chain refusing the object.
func admissionRefusal(err error) *Refusal {
	var se apierrors.APIStatus
	if err == nil || !errors.As(err, &se) {
		return nil
	}
	msg := se.Status().Message
	refusal := func(by, text string) *Refusal { return &Refusal{Kind: RefusedByAdmission, By: by, Message: text} }
	if m := vapDenied.FindStringSubmatch(msg); m != nil {
		return refusal("ValidatingAdmissionPolicy/"+m[1], withBinding(m[3], m[2]))
	}
	if m := webhookDenied.FindStringSubmatch(msg); m != nil {
		text := m[2]
		if text == "" {
			text = "denied without explanation"
		}
		return refusal("webhook/"+m[1], text)
	}
	if m := policyDenied.FindStringSubmatch(msg); m != nil {
		return refusal("policy/"+m[1], withBinding(m[3], m[2]))
	}
	return nil
}

func withBinding(msg, binding string) string {
	if binding == "" {
		return msg
	}
	return msg + " (binding " + binding + ")"
}

// invalidRefusal returns the refusal err is when the server refused the
// object as invalid for a reason other than an immutable field, or nil.
func invalidRefusal(ref ObjectRef, err error) *Refusal {
	if !apierrors.IsInvalid(err) || isImmutable(err) {
		return nil
	}
	return &Refusal{Kind: RefusedAsInvalid, Ref: ref, Message: invalidCauses(err)}
}

// schemaRefusal is the refusal of an object by the schema of CRD crd,
// for each of problems.
func schemaRefusal(crd string, problems []string) *Refusal {
	return &Refusal{Kind: RefusedBySchema, By: crd, Message: strings.Join(problems, "; ")}
}

// refusalOf returns the refusal err of the dry run of the object ref is,
// or nil.
func refusalOf(ref ObjectRef, err error) *Refusal {
	if r := admissionRefusal(err); r != nil {
		r.Ref = ref
		return r
	}
	return invalidRefusal(ref, err)
}

// op names the operation that a refused change fails in Apply.
func (r *Refusal) op() string {
	if r.Kind == RefusedBySchema {
		return "schema check"
	}
	return "apply"
}
