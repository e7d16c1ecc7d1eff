package main

import "testing"

func TestWithKubectl(t *testing.T) {
	tests := map[string]struct{ path, want string }{
		"first on PATH": {"/usr/local/bin:/usr/bin", "/cache/kubectl-v1.37.2:/usr/local/bin:/usr/bin"},
		"empty PATH":    {"", "/cache/kubectl-v1.37.2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := withKubectl(tc.path, "/cache/kubectl-v1.37.2/kubectl"); got != tc.want {
				t.Errorf("withKubectl(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}
