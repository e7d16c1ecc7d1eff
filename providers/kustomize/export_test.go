package kustomize

import (
	"testing"

	securefs "github.com/fluxcd/pkg/kustomize/filesys"
)

// Test helpers for the external tests (package kustomize_test).
var (
	WriteTree = writeTree
	Summary   = summary
)

// NoPlain returns o with the plain path turned off: Build runs kustomize.
func NoPlain(o Options) Options {
	o.noPlain = true
	return o
}

// PlainAccepts reports whether the plain path takes the tree of o.
func PlainAccepts(t *testing.T, o Options) bool {
	t.Helper()
	root, dir, err := resolve(o.Root, o.Path)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := securefs.MakeFsOnDiskSecure(root)
	if err != nil {
		t.Fatal(err)
	}
	_, ok := plainResources(&overlayFS{FileSystem: disk, root: root}, dir)
	return ok && o.plain()
}
