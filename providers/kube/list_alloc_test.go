package kube

import (
	"fmt"
	"strings"
	"testing"
)

// benchListJSON returns the JSON of a ConfigMapList of n objects such as
// a no-change plan lists: labels, annotations, managed fields and data.
func benchListJSON(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"apiVersion":"v1","kind":"ConfigMapList","metadata":{"resourceVersion":"123"},"items":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"metadata":{"name":"cm-%d","namespace":"ns","uid":"0b6f-%d","resourceVersion":"%d",`+
			`"creationTimestamp":"2026-12-01T10:00:00Z","labels":{"strata.dev/stack":"s","strata.dev/block":"b"},`+
			`"annotations":{"strata.dev/digest":"sha256:abcdef%d"},"managedFields":[{"manager":"strata","operation":"Apply",`+
			`"apiVersion":"v1","time":"2026-12-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:k":{}},`+
			`"f:metadata":{"f:labels":{".":{},"f:strata.dev/stack":{}}}}}]},"data":{"k":"value %d","n":"1"}}`, i, i, 1000+i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// TestDecodeListAllocations bounds the allocations of decodeList of a
// list of 100 ConfigMaps: sigs.k8s.io/json made 82 an object,
// jsonvalue.Decoder makes 57 (keys shared among the objects).
func TestDecodeListAllocations(t *testing.T) {
	data := benchListJSON(100)
	if _, err := decodeList(data); err != nil {
		t.Fatal(err)
	}
	got := testing.AllocsPerRun(10, func() { _, _ = decodeList(data) }) / 100
	t.Logf("%.1f allocations an object", got)
	if got > 65 {
		t.Errorf("%.1f allocations an object, want at most %d", got, 65)
	}
}
