package helm

import (
	"context"
	"strings"
	"testing"
)

func TestBinaryIsTheRequiredHelm(t *testing.T) {
	bin, err := Binary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := Command(context.Background(), bin, "/nonexistent", t.TempDir(), "version", "--short").CombinedOutput()
	if err != nil {
		t.Fatalf("helm version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(strings.TrimSpace(string(out)), "v3.22.0") {
		t.Fatalf("helm version = %q, want v3.22.0", out)
	}
}
