package planner

import (
	"context"
	"fmt"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/providers/kustomize"
	"github.com/strata-gitops/strata/providers/sops"
)

// render builds the objects of a kustomization from root, the tree of its
// source (the stack directory when it has none).
func (e *Engine) render(ctx context.Context, k *config.Kustomization, root string) ([]*unstructured.Unstructured, error) {
	dec, err := e.decryptor(k.Address(), k.Decryption)
	if err != nil {
		return nil, err
	}
	ro := renderOptions{decryptor: dec, onDecrypt: func(v []string) { e.addSecrets(v...) }}
	if k.Decryption == nil && len(k.SensitivePaths) == 0 && e.key == nil && e.renderSecret != nil {
		// Renders that may hold secret values are not written to disk, nor
		// any render of a stack whose state is encrypted at rest.
		// The cache lives in the stack's .strata, which a pull request can
		// commit: no links are followed there, and entries count only with
		// an HMAC under a secret kept outside every stack.
		dir := filepath.Join(e.dir, RenderCacheDir)
		if err := confine.InWorkDir(e.dir, dir); err != nil {
			return nil, fmt.Errorf("render cache: %w", err)
		}
		ro.cache = kustomize.NewCache(dir, e.renderSecret())
		ro.cacheSlot = e.opts.Environment + "/" + k.Address().String()
	}
	return renderKustomization(ctx, k, root, ro)
}

// RenderCacheDir is where plan and drift keep the last render of each
// kustomization (kustomize.Cache), relative to the stack.
const RenderCacheDir = ".strata/renders"

// renderOptions are the settings of renderKustomization.
type renderOptions struct {
	// origins keeps kustomize's origin annotation on the objects (see
	// kustomize.Options.Origins).
	origins bool
	// decryptor decrypts the SOPS-encrypted files (nil refuses them), and
	// onDecrypt receives the values decrypted.
	decryptor *sops.Decryptor
	onDecrypt func([]string)
	// cache, with cacheSlot, keeps the render between runs (see
	// kustomize.Options.Cache).
	cache     *kustomize.Cache
	cacheSlot string
}

// renderKustomization builds the objects of a kustomization from root.
func renderKustomization(ctx context.Context, k *config.Kustomization, root string, ro renderOptions) ([]*unstructured.Unstructured, error) {
	opts := kustomize.Options{
		Origins:           ro.origins,
		Decryptor:         ro.decryptor,
		OnDecrypt:         ro.onDecrypt,
		Cache:             ro.cache,
		CacheSlot:         ro.cacheSlot,
		Root:              root,
		Path:              k.Path,
		TargetNamespace:   k.TargetNamespace,
		NamePrefix:        k.NamePrefix,
		NameSuffix:        k.NameSuffix,
		Components:        k.Components,
		CommonLabels:      k.CommonLabels,
		CommonAnnotations: k.CommonAnnotations,
		Substitute:        k.Substitute,
	}
	for _, p := range k.Patches {
		kp := kustomize.Patch{Patch: p.Patch}
		if p.Target != nil {
			kp.Target = &kustomize.Selector{
				Group: p.Target.Group, Version: p.Target.Version, Kind: p.Target.Kind,
				Name: p.Target.Name, Namespace: p.Target.Namespace,
				LabelSelector: p.Target.LabelSelector, AnnotationSelector: p.Target.AnnotationSelector,
			}
		}
		opts.Patches = append(opts.Patches, kp)
	}
	for _, im := range k.Images {
		opts.Images = append(opts.Images, kustomize.Image{Name: im.Name, NewName: im.NewName, NewTag: im.NewTag, Digest: im.Digest})
	}
	// Build's objects hold JSON values only (int64, float64), which the
	// client libraries' deep copies need: no second JSON round trip here.
	objs, err := kustomize.Build(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", k.Address(), err)
	}
	return objs, nil
}
