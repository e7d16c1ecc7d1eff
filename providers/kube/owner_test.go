package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestOwnershipOf checks who owns a live object: stacks are told apart by
// their id, and an object with the stack's name but no id (applied before
// stack ids) is the stack's only when its state records it, not when it
// is only an intent.
func TestOwnershipOf(t *testing.T) {
	me := Owner{Stack: "app", StackID: "id-b", Block: "kustomization.app"}
	labels := func(kv ...string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		l := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		u.SetLabels(l)
		return u
	}
	tests := map[string]struct {
		live   *unstructured.Unstructured
		owner  Owner
		known  trust
		former []string
		want   ownership
		who    string
	}{
		"no labels": {live: labels(), owner: me, want: unlabelled},
		"this block": {live: labels(LabelStack, "app", LabelStackID, "id-b", LabelBlock, "kustomization.app"), owner: me,
			want: ownedByBlock, who: "app/kustomization.app (stack id id-b)"},
		"same name, other stack id": {live: labels(LabelStack, "app", LabelStackID, "id-a", LabelBlock, "kustomization.app"), owner: me,
			want: otherStack, who: "app/kustomization.app (stack id id-a)"},
		"same name, other stack id, in state": {live: labels(LabelStack, "app", LabelStackID, "id-a", LabelBlock, "kustomization.app"), owner: me,
			known: trustRecorded, want: otherStack, who: "app/kustomization.app (stack id id-a)"},
		"other block of this stack": {live: labels(LabelStack, "app", LabelStackID, "id-b", LabelBlock, "kustomization.web"), owner: me,
			want: otherBlock, who: "app/kustomization.web (stack id id-b)"},
		"name only, in state": {live: labels(LabelStack, "app", LabelBlock, "kustomization.app"), owner: me, known: trustRecorded,
			want: ownedByBlock, who: "app/kustomization.app (no stack id: applied by strata before stack ids)"},
		"name only, not in state": {live: labels(LabelStack, "app", LabelBlock, "kustomization.app"), owner: me,
			want: otherStack, who: "app/kustomization.app (no stack id: applied by strata before stack ids)"},
		"other name only, in state": {live: labels(LabelStack, "web", LabelBlock, "kustomization.app"), owner: me, known: trustRecorded,
			want: otherStack, who: "web/kustomization.app (no stack id: applied by strata before stack ids)"},
		"former block, in state": {live: labels(LabelStack, "app", LabelStackID, "id-b", LabelBlock, "kustomization.web"), owner: me,
			known: trustRecorded, former: []string{"kustomization.web"}, want: ownedByBlock, who: "app/kustomization.web (stack id id-b)"},
		"former block, not in state": {live: labels(LabelStack, "app", LabelStackID, "id-b", LabelBlock, "kustomization.web"), owner: me,
			former: []string{"kustomization.web"}, want: otherBlock, who: "app/kustomization.web (stack id id-b)"},
		"name only, an intent": {live: labels(LabelStack, "app", LabelBlock, "kustomization.app"), owner: me, known: trustIntent,
			want: otherStack, who: "app/kustomization.app (no stack id: applied by strata before stack ids)"},
		"former block, an intent": {live: labels(LabelStack, "app", LabelStackID, "id-b", LabelBlock, "kustomization.web"), owner: me,
			known: trustIntent, former: []string{"kustomization.web"}, want: ownedByBlock, who: "app/kustomization.web (stack id id-b)"},
		"caller without id matches names": {live: labels(LabelStack, "app", LabelStackID, "id-a", LabelBlock, "kustomization.app"),
			owner: Owner{Stack: "app", Block: "kustomization.app"}, want: ownedByBlock, who: "app/kustomization.app (stack id id-a)"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, who := ownershipOf(tt.live, tt.owner, tt.known, tt.former)
			if got != tt.want || who != tt.who {
				t.Errorf("ownershipOf = %d, %q; want %d, %q", got, who, tt.want, tt.who)
			}
		})
	}
}
