package kustomize_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/providers/kustomize"
	"github.com/strata-gitops/strata/providers/kustomize/kustomizetest"
)

// TestBuild builds the trees of kustomizetest.Corpus.
func TestBuild(t *testing.T) {
	for name, tc := range kustomizetest.Corpus() {
		tc := struct {
			files  map[string]string
			opts   kustomize.Options
			fields []string
			want   []string
		}{tc.Files, tc.Options, tc.Fields, tc.Want}
		t.Run(name, func(t *testing.T) {
			tc.opts.Root = kustomize.WriteTree(t, tc.files)
			objs, err := kustomize.Build(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, kustomize.Summary(objs, tc.fields...)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			// The tree is left as it was: no generated kustomization.yaml.
			var want, got []string
			for p := range tc.files {
				want = append(want, p)
			}
			sort.Strings(want)
			err = filepath.Walk(tc.opts.Root, func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					rel, _ := filepath.Rel(tc.opts.Root, p)
					got = append(got, rel)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("files in the tree after Build (-want +got):\n%s", diff)
			}
		})
	}
}
