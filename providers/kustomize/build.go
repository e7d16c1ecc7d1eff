package kustomize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	securefs "github.com/fluxcd/pkg/kustomize/filesys"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/internal/jsonvalue"
	"github.com/strata-gitops/strata/providers/sops"
)

// ErrOutsideRoot is wrapped by Build errors for a path, or a file it refers
// to, that is outside the source tree.
var ErrOutsideRoot = errors.New("path is outside the source tree")

// SubstituteAnnotation is the label or annotation that, set to "disabled",
// turns variable substitution off for one object (Flux's name).
const SubstituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"

// Options describes one kustomization to render.
type Options struct {
	// Root is the source tree (required). Nothing outside it is read.
	Root string
	// Path is the directory to build, relative to Root ("" or "." for Root).
	Path string
	// TargetNamespace sets the namespace of every namespaced object.
	TargetNamespace string
	// NamePrefix and NameSuffix are added to every object's name.
	NamePrefix, NameSuffix string
	// Patches are strategic merge or JSON 6902 patches, each optionally
	// limited to the objects a Selector matches.
	Patches []Patch
	// Images override container images by name.
	Images []Image
	// Components are kustomize components to add, relative to Path.
	Components []string
	// CommonLabels and CommonAnnotations are set on every object.
	CommonLabels, CommonAnnotations map[string]string
	// Substitute holds the post-build variables. When it is empty nothing is
	// substituted, as in Flux.
	Substitute map[string]string
	// StrictSubstitute makes a ${var} without default and without value an
	// error instead of an empty string.
	StrictSubstitute bool
	// Origins keeps on every object kustomize's origin annotation, which
	// Origin reads: the file the object comes from. For checks only: the
	// annotation is not meant to be applied.
	Origins bool
	// Decryptor decrypts, in memory, the SOPS-encrypted files the build
	// reads (see decryption); nil refuses them with ErrEncrypted.
	Decryptor *sops.Decryptor
	// OnDecrypt, when set, receives the plain texts of the values the
	// build decrypted, to keep out of every output.
	OnDecrypt func(values []string)
	// Cache, when set with a CacheSlot, keeps the render between runs and
	// returns it while no input changed (see Cache). CacheSlot names the
	// kustomization (the stack, environment and block, say): one entry
	// is kept per slot.
	Cache     *Cache
	CacheSlot string

	// noPlain makes Build run kustomize even for a plain tree (tests).
	noPlain bool
	// onRender is called as each render starts (tests).
	onRender func()
}

// Patch is a kustomize patch: a strategic merge patch (YAML of a partial
// object) or a JSON 6902 patch (YAML list of operations), applied to the
// objects Target selects (all the objects the patch names when nil).
type Patch struct {
	Patch  string    `json:"patch"`
	Target *Selector `json:"target,omitempty"`
}

// Selector selects objects for a patch. Empty fields match everything;
// Name and Namespace are regular expressions, LabelSelector and
// AnnotationSelector are Kubernetes selectors.
type Selector struct {
	Group              string `json:"group,omitempty"`
	Version            string `json:"version,omitempty"`
	Kind               string `json:"kind,omitempty"`
	Namespace          string `json:"namespace,omitempty"`
	Name               string `json:"name,omitempty"`
	LabelSelector      string `json:"labelSelector,omitempty"`
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// Image overrides the name, tag or digest of the container images named Name.
type Image struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// Build renders the kustomization described by opts and returns its objects
// in kustomize's order. The objects hold JSON values only (int64 and
// float64 numbers, map[string]any, []any), as client-go's do, so that
// runtime.DeepCopyJSON and the objects' DeepCopy accept them. It reads only files inside opts.Root and writes
// nothing. ctx is accepted for symmetry with the other providers; the build
// itself is CPU-bound and not interruptible.
func Build(ctx context.Context, opts Options) ([]*unstructured.Unstructured, error) {
	root, dir, err := resolve(opts.Root, opts.Path)
	if err != nil {
		return nil, err
	}
	ks, err := opts.fluxKustomization()
	if err != nil {
		return nil, err
	}

	disk, err := securefs.MakeFsOnDiskSecure(root)
	if err != nil {
		return nil, fmt.Errorf("source tree %s: %w", root, err)
	}
	// Renders that kustomize's pipeline need not run run at once; one
	// that needs it runs alone (see kustomizeMu).
	kustomizeMu.RLock()
	r, err := renderCached(opts, root, dir, disk, ks, false)
	kustomizeMu.RUnlock()
	if errors.Is(err, errNeedsKustomize) {
		kustomizeMu.Lock()
		defer kustomizeMu.Unlock()
		r, err = renderCached(opts, root, dir, disk, ks, true)
	}
	if err != nil {
		return nil, err
	}
	if r.cached != nil {
		return r.cached, nil
	}
	resources, rec, dec := r.resources, r.rec, r.dec
	var subst []fluxkustomize.SubstituteOption
	subst = append(subst, fluxkustomize.SubstituteWithDryRun(true), fluxkustomize.SubstituteWithStrict(opts.StrictSubstitute))
	out := make([]*unstructured.Unstructured, 0, len(resources))
	for _, res := range resources {
		if len(opts.Substitute) > 0 {
			// nil client: with DryRun no ConfigMap or Secret is read.
			got, err := fluxkustomize.SubstituteVariables(ctx, nil, ks, res, subst...)
			if err != nil {
				return nil, fmt.Errorf("%s: post-build substitution: %w", res.CurId(), err)
			}
			if got != nil {
				res = got
			}
		}
		// Through JSON, so that the object holds JSON types only (int64, not
		// int) like every object from client-go, and DeepCopy works.
		j, err := objectJSON(res)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", res.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("kustomization %s: %s: %w", opts.Path, res.CurId(), err)
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("kustomization %s renders an object without apiVersion, kind or name: %s", opts.Path, res.CurId())
		}
		if err := dec.object(u); err != nil {
			return nil, fmt.Errorf("kustomization %s: %w", opts.Path, err)
		}
		setCommonMetadata(u, opts.CommonLabels, opts.CommonAnnotations)
		out = append(out, u)
	}
	if rec != nil && rec.kept {
		opts.Cache.put(opts.CacheSlot, opts.inputs(root, dir), rec.calls, out)
	}
	return out, nil
}

// objectJSON returns the JSON of res, as kustomize's Resource.MarshalJSON
// does, in a third of its time: that writes the object's YAML node as YAML
// text, reads the text back into a map and writes the map as JSON; here
// the node is decoded into the map directly, the same decoder on the same
// tags and values. On an error (or an object that is not a mapping) it
// returns kustomize's, so that the messages are kustomize's too.
// TestObjectJSONMatchesKustomize checks that both give the same bytes.
func objectJSON(res *resource.Resource) ([]byte, error) {
	n := res.YNode()
	if n == nil || n.Kind != kyaml.MappingNode {
		return res.MarshalJSON()
	}
	m := map[string]any{}
	if err := n.Decode(&m); err != nil {
		return res.MarshalJSON()
	}
	j, err := jsonvalue.Marshal(m)
	if err != nil {
		return res.MarshalJSON()
	}
	return j, nil
}

// errNeedsKustomize is renderCached's answer, without full, for a
// kustomization that only kustomize's pipeline renders.
var errNeedsKustomize = errors.New("the kustomization needs kustomize's pipeline")

// rendered is the result of renderCached: the objects from the cache, or
// the resources rendered, with the decryption of the render and the
// recording of its file system calls for the cache (nil: not cached).
type rendered struct {
	cached    []*unstructured.Unstructured
	resources []*resource.Resource
	dec       *decryption
	rec       *callLog
}

// renderCached returns the objects of the kustomization in dir from
// opts.Cache, or renders its resources. Without full, a kustomization
// that needs kustomize's pipeline is errNeedsKustomize.
func renderCached(opts Options, root, dir string, disk filesys.FileSystem, ks unstructured.Unstructured, full bool) (rendered, error) {
	r := rendered{dec: newDecryption(root, opts)}
	if opts.cacheable() {
		if objs, ok := opts.Cache.get(opts.CacheSlot, opts.inputs(root, dir), &overlayFS{FileSystem: disk, root: root, decrypt: r.dec}); ok {
			return rendered{cached: objs}, nil
		}
		r.rec = &callLog{}
	}
	var err error
	r.resources, err = render(opts, root, dir, disk, ks, r.dec, r.rec, full)
	return r, err
}

// render returns the objects of the kustomization in dir, before
// substitution: by the plain path when the options and the tree allow it
// (see plainResources), or for a directory without a kustomization file
// by the generated path (see generatedResources), else by kustomize. When
// rec is not nil it records the file system calls of the plain and the
// generated path, and is kept when one of them renders; a render by
// kustomize leaves it unkept. Without full, a kustomization that needs
// kustomize is errNeedsKustomize.
func render(opts Options, root, dir string, disk filesys.FileSystem, ks unstructured.Unstructured, dec *decryption, rec *callLog, full bool) ([]*resource.Resource, error) {
	if opts.onRender != nil {
		opts.onRender()
	}
	if opts.plain() && !opts.noPlain {
		if rs, ok := plainResources(recorded(&overlayFS{FileSystem: disk, root: root, decrypt: dec}, rec), dir); ok {
			rec.keep()
			return rs, nil
		}
		// A directory without a kustomization file, read and parsed once
		// (Flux's generator parses every manifest, and the plain path
		// again); one holding strata's directory is Flux's generator's
		// (ignore patterns).
		held := holdsStrataDir(dir)
		rec.record("strata", dir, fmt.Sprint(held))
		if !held {
			if rs, ok := generatedResources(recorded(disk, rec), recorded(&overlayFS{FileSystem: disk, root: root, decrypt: dec}, rec), dir); ok {
				rec.keep()
				return rs, nil
			}
		}
	}
	gen := fluxkustomize.NewGenerator(root, ks)
	if holdsStrataDir(dir) {
		gen = fluxkustomize.NewGeneratorWithIgnore(root, strataDir+"/\n", ks)
	}
	manifest, kfile, action, err := gen.GenerateManifest(dir)
	if err != nil {
		return nil, buildError(opts.Path, root, inKustomizationFile(disk, dir, err))
	}
	if action == fluxkustomize.CreatedAction && opts.plain() && !opts.noPlain {
		// A directory without a kustomization file: Flux's generated one
		// lists its manifests (and the directories with a kustomization
		// file below it), which the plain path renders as kustomize does,
		// without kustomize's pipeline and the parse of its OpenAPI schema
		// that every kustomize build repeats (a third of a no-change plan's
		// CPU time for a stack of 100 such directories).
		gfs := &overlayFS{FileSystem: disk, path: filepath.Clean(kfile), data: manifest, root: root, decrypt: dec}
		if rs, ok := plainResources(gfs, dir); ok {
			return rs, nil
		}
	}
	if opts.Origins {
		if manifest, err = withOrigins(manifest); err != nil {
			return nil, fmt.Errorf("kustomization %s: %w", opts.Path, err)
		}
	}
	if !full {
		return nil, errNeedsKustomize
	}
	fs := &overlayFS{FileSystem: disk, path: filepath.Clean(kfile), data: manifest, root: root, decrypt: dec}
	resMap, err := fluxkustomize.Build(fs, dir)
	if fs.refused != nil {
		return nil, fmt.Errorf("kustomization %s: %w", opts.Path, fs.refused)
	}
	if err != nil {
		return nil, buildError(opts.Path, root, inBaseKustomizationFile(disk, err))
	}
	return resMap.Resources(), nil
}

// recorded returns fs, its calls recorded in rec when rec is not nil.
func recorded(fs filesys.FileSystem, rec *callLog) filesys.FileSystem {
	if rec == nil {
		return fs
	}
	return &recordingFS{FileSystem: fs, log: rec}
}

// plain reports whether the options leave kustomize's output as it is:
// no setting that Flux writes into the kustomization. (Substitution and
// the common labels and annotations are applied to kustomize's output.)
func (o Options) plain() bool {
	return o.TargetNamespace == "" && o.NamePrefix == "" && o.NameSuffix == "" && len(o.Patches) == 0 &&
		len(o.Images) == 0 && len(o.Components) == 0 && !o.Origins
}

// strataDir is the directory strata keeps its state and artifact cache in,
// beside a stack's files (providers/cache.DefaultDir).
const strataDir = ".strata"

// holdsStrataDir reports whether the directory dir, to be built, holds
// strata's own directory and no kustomization file: the kustomization
// generated for it would then list every manifest of strata's cache (the
// trees of Git sources) as its own resources.
func holdsStrataDir(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, strataDir)); err != nil || !fi.IsDir() {
		return false
	}
	for _, k := range konfig.RecognizedKustomizationFileNames() {
		if _, err := os.Lstat(filepath.Join(dir, k)); err == nil {
			return false
		}
	}
	return true
}

// resolve returns the absolute, symlink-free root and the directory to
// build, and checks that the directory is inside the root.
func resolve(root, path string) (string, string, error) {
	if root == "" {
		return "", "", errors.New("source tree root is required")
	}
	r, err := filepath.Abs(root)
	if err != nil {
		return "", "", err
	}
	if r, err = filepath.EvalSymlinks(r); err != nil {
		return "", "", fmt.Errorf("source tree: %w", err)
	}
	if filepath.IsAbs(path) {
		return "", "", fmt.Errorf("path %q: %w: it must be relative to the source tree", path, ErrOutsideRoot)
	}
	d := filepath.Join(r, path)
	if !within(r, d) {
		return "", "", fmt.Errorf("path %q: %w", path, ErrOutsideRoot)
	}
	real, err := filepath.EvalSymlinks(d)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("path %q: directory not found in the source tree", path)
		}
		return "", "", fmt.Errorf("path %q: %w", path, err)
	}
	if !within(r, real) {
		return "", "", fmt.Errorf("path %q: %w (a symbolic link leads to %s)", path, ErrOutsideRoot, real)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("path %q: not a directory", path)
	}
	return r, real, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// inKustomizationFile names the kustomization file of dir in err, an
// error of reading it (such as "error converting YAML to JSON: yaml: line
// 3: ..."), unless err names it already.
func inKustomizationFile(disk filesys.FileSystem, dir string, err error) error {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, n)
		if disk.Exists(p) {
			if strings.Contains(err.Error(), n) {
				return err
			}
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return err
}

// baseNotAFile is kustomize's first try of a resource that is a
// directory (a base), as a file, which it reports before the error of the
// directory; targetInvalid is its error for a base's kustomization file
// that does not parse, which names the directory only.
var (
	baseNotAFile  = regexp.MustCompile(`accumulation err='(accumulating resources from '[^']*'): read [^']*: is a directory': `)
	targetInvalid = regexp.MustCompile(`couldn't make target for path '([^']*)': invalid Kustomization: `)
)

// inBaseKustomizationFile names, in err, an error of a build, the
// kustomization file of a base (or component) that does not parse
// ("base/kustomization.yaml: invalid Kustomization: yaml: line 3: ...",
// the line as the YAML parser gives it) instead of its directory, and
// leaves out kustomize's try of the base as a file.
func inBaseKustomizationFile(disk filesys.FileSystem, err error) error {
	msg := err.Error()
	if !targetInvalid.MatchString(msg) {
		return err
	}
	msg = baseNotAFile.ReplaceAllString(msg, "$1: ")
	msg = targetInvalid.ReplaceAllStringFunc(msg, func(m string) string {
		dir := targetInvalid.FindStringSubmatch(m)[1]
		for _, n := range konfig.RecognizedKustomizationFileNames() {
			if p := filepath.Join(dir, n); disk.Exists(p) {
				return p + ": invalid Kustomization: "
			}
		}
		return m
	})
	return tidyError{msg: msg, err: err}
}

// buildError maps the secure file system's refusals to ErrOutsideRoot and
// shortens kustomize's messages: file names relative to the root, without
// the retries kustomize reports after the real error.
func buildError(path, root string, err error) error {
	msg := tidy(err.Error(), root)
	var ce *securefs.ConstraintError
	if errors.As(err, &ce) || strings.Contains(err.Error(), "is not in or below") {
		return fmt.Errorf("kustomization %s: %w: %s", path, ErrOutsideRoot, msg)
	}
	return fmt.Errorf("kustomization %s: %w", path, tidyError{msg: msg, err: err})
}

// tidyError is an error with a shorter message than the error it wraps.
type tidyError struct {
	msg string
	err error
}

func (t tidyError) Error() string { return t.msg }

func (t tidyError) Unwrap() error { return t.err }

// tidy shortens a kustomize error message (see buildError).
func tidy(msg, root string) string {
	for {
		i := strings.Index(msg, "accumulation err='")
		j := strings.LastIndex(msg, "': must build at directory")
		if i < 0 || j < i {
			break
		}
		msg = msg[:i] + msg[i+len("accumulation err='"):j]
	}
	r := strings.NewReplacer("accumulating resources: accumulating resources from", "accumulating resources from",
		root+string(filepath.Separator), "", "<source>"+string(filepath.Separator), "",
		"'"+root+"'", "the source tree", "'<source>'", "the source tree", root, ".")
	return r.Replace(msg)
}

// fluxKustomization returns the Flux Kustomization object the generator and
// the substitution read their settings from.
func (o Options) fluxKustomization() (unstructured.Unstructured, error) {
	spec := map[string]any{}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		var x any
		_ = json.Unmarshal(b, &x)
		spec[k] = x
	}
	if o.TargetNamespace != "" {
		spec["targetNamespace"] = o.TargetNamespace
	}
	if o.NamePrefix != "" {
		spec["namePrefix"] = o.NamePrefix
	}
	if o.NameSuffix != "" {
		spec["nameSuffix"] = o.NameSuffix
	}
	for i, p := range o.Patches {
		if strings.TrimSpace(p.Patch) == "" {
			return unstructured.Unstructured{}, fmt.Errorf("patch %d is empty", i)
		}
	}
	if len(o.Patches) > 0 {
		set("patches", o.Patches)
	}
	if len(o.Images) > 0 {
		set("images", o.Images)
	}
	if len(o.Components) > 0 {
		set("components", o.Components)
	}
	if len(o.Substitute) > 0 {
		set("postBuild", map[string]any{"substitute": o.Substitute})
	}
	return unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": "strata"},
		"spec":       spec,
	}}, nil
}

func setCommonMetadata(u *unstructured.Unstructured, labels, annotations map[string]string) {
	if len(labels) > 0 {
		l := u.GetLabels()
		if l == nil {
			l = make(map[string]string, len(labels))
		}
		for k, v := range labels {
			l[k] = v
		}
		u.SetLabels(l)
	}
	if len(annotations) > 0 {
		a := u.GetAnnotations()
		if a == nil {
			a = make(map[string]string, len(annotations))
		}
		for k, v := range annotations {
			a[k] = v
		}
		u.SetAnnotations(a)
	}
}

// overlayFS shows one generated file (the kustomization of the directory
// being built) over the read-only source tree. (kyaml's in-memory file system
// would do, but it refuses directory names with spaces or commas.)
//
// It also refuses every kustomization file that names a remote file (see
// remoteFiles): kustomize fetches those itself, past any file system.
type overlayFS struct {
	filesys.FileSystem
	path string
	data []byte
	root string
	// refused is the first refusal of a kustomization file; kustomize
	// reports a file it cannot read as missing, so Build reports this.
	refused error
	// decrypt decrypts the SOPS-encrypted files the build reads.
	decrypt *decryption
}

func (o *overlayFS) is(p string) bool { return filepath.Clean(p) == o.path }

func (o *overlayFS) Exists(p string) bool { return o.is(p) || o.FileSystem.Exists(p) }

func (o *overlayFS) IsDir(p string) bool { return !o.is(p) && o.FileSystem.IsDir(p) }

func (o *overlayFS) ReadFile(p string) ([]byte, error) {
	var data []byte
	if o.is(p) {
		data = append([]byte(nil), o.data...)
	} else {
		if err := o.gitMetadata(p); err != nil {
			return nil, err
		}
		var err error
		if data, err = o.FileSystem.ReadFile(p); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(p)) {
		data, err := o.decrypt.read(p, data)
		if err != nil && o.refused == nil {
			o.refused = err
		}
		return data, err
	}
	if remote := remoteFiles(data); len(remote) > 0 {
		rel, _ := filepath.Rel(o.root, p)
		err := fmt.Errorf("%s names the remote file %s: %w: strata reads only the files of the stack and its sources; copy the file into the repository, or fetch it with a Git source",
			filepath.ToSlash(rel), remote[0], ErrOutsideRoot)
		if o.refused == nil {
			o.refused = err
		}
		return nil, err
	}
	o.decrypt.register(p, data)
	return data, nil
}

// remoteFiles returns the http(s) URLs that a kustomization names where
// kustomize would fetch a file (resources, components, patches, generator
// files and the like), and the Git repositories it names as resources or
// components, which kustomize would clone with the system's git. A
// kustomization that does not parse has none (kustomize reports it).
func remoteFiles(data []byte) []string {
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil {
		return nil
	}
	var out []string
	add := func(v any) {
		if s, ok := v.(string); ok {
			if _, after, ok := strings.Cut(s, "="); ok && isRemote(after) {
				s = after // generator files: KEY=PATH
			}
			if isRemote(s) {
				out = append(out, s)
			}
		}
	}
	for _, f := range []string{"resources", "bases", "components"} {
		for _, v := range items(k[f]) {
			if s, ok := v.(string); ok && !isRemote(s) && isGitRepo(s) {
				out = append(out, s)
			}
		}
	}
	for _, f := range []string{"resources", "bases", "components", "crds", "configurations",
		"patchesStrategicMerge", "generators", "transformers", "validators"} {
		for _, v := range items(k[f]) {
			add(v)
		}
	}
	for _, f := range []string{"patches", "patchesJson6902", "replacements"} {
		for _, v := range items(k[f]) {
			add(field(v, "path"))
		}
	}
	add(field(k["openapi"], "path"))
	for _, f := range []string{"configMapGenerator", "secretGenerator"} {
		for _, g := range items(k[f]) {
			for _, v := range append(items(field(g, "files")), items(field(g, "envs"))...) {
				add(v)
			}
			add(field(g, "env"))
		}
	}
	return out
}

// items returns v as a YAML sequence (nil when it is not one).
func items(v any) []any {
	l, _ := v.([]any)
	return l
}

// field returns the member name of v as a YAML mapping (nil when v is not
// one or has no such member).
func field(v any, name string) any {
	m, _ := v.(map[string]any)
	return m[name]
}

// isGitRepo reports whether kustomize reads s as a Git repository to
// clone (its git.NewRepoSpecFromURL): a URL with a scheme (ssh://, file://,
// https://), go-getter's git:: prefix, scp-like git@host:path, or a
// github.com path.
func isGitRepo(s string) bool {
	s = strings.TrimSpace(s)
	for _, p := range []string{"git::", "git@", "github.com/", "github.com:"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return strings.Contains(s, "://")
}

// isRemote reports whether kustomize fetches s over HTTP (its
// loader.IsRemoteFile).
func isRemote(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

func (o *overlayFS) Open(p string) (filesys.File, error) {
	if o.is(p) {
		return nil, fmt.Errorf("open %s: generated file can only be read whole", p)
	}
	if err := o.gitMetadata(p); err != nil {
		return nil, err
	}
	return o.FileSystem.Open(p)
}

// gitMetadata refuses a file in Git's metadata directory (.git, where a CI
// checkout keeps its token), also through a symbolic link: a generator
// would put it in a ConfigMap, and so in the plan.
func (o *overlayFS) gitMetadata(p string) error {
	if !filepath.IsAbs(p) {
		p = filepath.Join(o.root, p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil // the secure file system reports it
	}
	if !confine.InGitDir(o.root, real) {
		return nil
	}
	rel, _ := filepath.Rel(o.root, p)
	err = fmt.Errorf("%s is in Git's metadata directory (.git), which can hold credentials: %w", filepath.ToSlash(rel), ErrOutsideRoot)
	if o.refused == nil {
		o.refused = err
	}
	return err
}

func (o *overlayFS) WriteFile(p string, _ []byte) error {
	return fmt.Errorf("write %s: the source tree is read-only", p)
}

// OriginAnnotation is kustomize's annotation naming an object's file, set
// by a Build with Options.Origins.
const OriginAnnotation = "config.kubernetes.io/origin"

// withOrigins adds originAnnotations to the build metadata of a generated
// kustomization.yaml.
func withOrigins(manifest []byte) ([]byte, error) {
	var k map[string]any
	if err := yaml.Unmarshal(manifest, &k); err != nil {
		return nil, err
	}
	bm, _ := k["buildMetadata"].([]any)
	if slices.Contains(bm, any("originAnnotations")) {
		return manifest, nil
	}
	k["buildMetadata"] = append(bm, "originAnnotations")
	return yaml.Marshal(k)
}

// Origin returns the file an object of a Build with Options.Origins comes
// from, relative to Options.Root (path is Options.Path): for an object a
// generator made, the kustomization file that configures the generator
// (also in a base); "" when kustomize did not say.
func Origin(path string, u *unstructured.Unstructured) string {
	var o struct {
		Path         string `json:"path"`
		ConfiguredIn string `json:"configuredIn"`
	}
	if err := yaml.Unmarshal([]byte(u.GetAnnotations()[OriginAnnotation]), &o); err != nil {
		return ""
	}
	file := o.Path
	if file == "" {
		file = o.ConfiguredIn
	}
	if file == "" {
		return ""
	}
	return filepath.ToSlash(filepath.Join(path, file))
}
