package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
	version "github.com/hashicorp/go-version"

	"github.com/strata-gitops/strata/providers/source"
)

// resolution is Resolve's result plus what Fetch needs.
type resolution struct {
	Resolved
	name   string // revision name part: "main", "v1.2.0", "refs/pull/42/head", "" for a bare commit
	target string // ref object hash advertised for RefName (a tag object for annotated tags)
}

// Resolve returns the exact commit spec's ref points at, by listing the
// remote's refs; no objects are transferred. A pinned Commit resolves
// without network access.
func (f *Fetcher) Resolve(ctx context.Context, spec Spec) (Resolved, error) {
	res, _, err := f.resolve(ctx, spec)
	if err != nil {
		return Resolved{}, err
	}
	return res.Resolved, nil
}

func (f *Fetcher) resolve(ctx context.Context, spec Spec) (*resolution, *remote, error) {
	if err := spec.validate(); err != nil {
		return nil, nil, fmt.Errorf("git source %s: %w", source.RedactURL(spec.URL), err)
	}
	r, err := f.prepare(spec)
	if err != nil {
		return nil, nil, err
	}
	ref := spec.Ref
	if ref.Commit != "" {
		c := strings.ToLower(ref.Commit)
		name := ref.Branch + ref.Tag + ref.Name // at most one is set
		res := &resolution{name: name, Resolved: Resolved{Commit: c, Revision: revision(name, c)}}
		switch {
		case ref.Branch != "":
			res.RefName = plumbing.NewBranchReferenceName(ref.Branch).String()
		case ref.Tag != "":
			res.RefName = plumbing.NewTagReferenceName(ref.Tag).String()
		case ref.Name != "":
			res.RefName = ref.Name
		}
		return res, r, nil
	}
	if f.offline {
		return nil, r, fmt.Errorf("resolve %s of %s: %w (pin a commit to use the cache)", ref, r.display, ErrOffline)
	}
	refs, err := f.list(ctx, r)
	if err != nil {
		return nil, r, err
	}
	res, err := pick(ref, refs)
	if err != nil {
		return nil, r, fmt.Errorf("resolve %s of %s: %w", ref, r.display, err)
	}
	return res, r, nil
}

// list returns the remote's refs: name -> hash, with peeled tags as
// "refs/tags/x^{}" and HEAD as "HEAD" (plus "HEAD->" + target when
// symbolic).
func (f *Fetcher) list(ctx context.Context, r *remote) (map[string]string, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth, CABundle: r.caBundle, PeelingOption: git.AppendPeeled})
	if err != nil {
		return nil, r.explain("list refs of", err)
	}
	m := make(map[string]string, len(refs))
	for _, ref := range refs {
		switch ref.Type() {
		case plumbing.HashReference:
			m[ref.Name().String()] = ref.Hash().String()
		case plumbing.SymbolicReference:
			m[ref.Name().String()+"->"] = ref.Target().String()
		}
	}
	if t, ok := m["HEAD->"]; ok {
		if h, ok := m[t]; ok {
			m["HEAD"] = h
		}
	}
	return m, nil
}

func revision(name, commit string) string {
	if name == "" {
		return "sha1:" + commit
	}
	return name + "@sha1:" + commit
}

// pick finds ref among the listed refs.
func pick(ref Ref, refs map[string]string) (*resolution, error) {
	tag := func(name string) (*resolution, error) {
		full := "refs/tags/" + name
		target, ok := refs[full]
		if !ok {
			return nil, fmt.Errorf("tag %q does not exist: %w", name, ErrRefNotFound)
		}
		commit := target
		if peeled, ok := refs[full+"^{}"]; ok {
			commit = peeled
		}
		return &resolution{name: name, target: target, Resolved: Resolved{Commit: commit, RefName: full, Revision: revision(name, commit)}}, nil
	}
	switch {
	case ref.Branch != "":
		full := "refs/heads/" + ref.Branch
		h, ok := refs[full]
		if !ok {
			return nil, fmt.Errorf("branch %q does not exist: %w", ref.Branch, ErrRefNotFound)
		}
		return &resolution{name: ref.Branch, target: h, Resolved: Resolved{Commit: h, RefName: full, Revision: revision(ref.Branch, h)}}, nil
	case ref.Tag != "":
		return tag(ref.Tag)
	case ref.SemVer != "":
		name, err := highestTag(ref.SemVer, refs)
		if err != nil {
			return nil, err
		}
		return tag(name)
	case ref.Name != "":
		full := ref.Name
		h, ok := refs[full]
		if !ok {
			return nil, fmt.Errorf("ref %q does not exist: %w", full, ErrRefNotFound)
		}
		commit := h
		if peeled, ok := refs[full+"^{}"]; ok {
			commit = peeled
		}
		return &resolution{name: full, target: h, Resolved: Resolved{Commit: commit, RefName: full, Revision: revision(full, commit)}}, nil
	}
	h, ok := refs["HEAD"]
	if !ok {
		return nil, fmt.Errorf("the remote has no HEAD (empty repository?): %w", ErrRefNotFound)
	}
	name, full := "HEAD", "HEAD"
	if t, ok := refs["HEAD->"]; ok {
		full = t
		name = plumbing.ReferenceName(t).Short()
	}
	return &resolution{name: name, target: h, Resolved: Resolved{Commit: h, RefName: full, Revision: revision(name, h)}}, nil
}

// highestTag returns the tag with the highest version matching constraint.
func highestTag(constraint string, refs map[string]string) (string, error) {
	cs, err := version.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("semver constraint %q: %w", constraint, err)
	}
	var best *version.Version
	var bestName string
	for full := range refs {
		name, ok := strings.CutPrefix(full, "refs/tags/")
		if !ok || strings.HasSuffix(name, "^{}") {
			continue
		}
		v, err := version.NewSemver(name)
		if err != nil || !cs.Check(v) {
			continue
		}
		// Equal versions ("v1.0.0" and "1.0.0"): prefer the lexically
		// smaller name so the choice is stable.
		if best == nil || v.GreaterThan(best) || (v.Equal(best) && name < bestName) {
			best, bestName = v, name
		}
	}
	if best == nil {
		return "", fmt.Errorf("no tag matches semver %q: %w", constraint, ErrRefNotFound)
	}
	return bestName, nil
}

// Fetch resolves spec and returns its artifact, from the cache when the
// resolved commit was fetched before with the same ignore and verify
// settings, otherwise by fetching it. Verification failures are errors;
// nothing unverified is cached or returned.
func (f *Fetcher) Fetch(ctx context.Context, spec Spec) (*source.Artifact, error) {
	res, r, err := f.resolve(ctx, spec)
	if err != nil {
		return nil, err
	}
	key := f.cacheKey(r, spec, res)
	if e, ok, err := f.cache.Get(key); err != nil {
		return nil, err
	} else if ok {
		return &source.Artifact{Dir: e.Dir, Revision: res.Revision, Digest: e.Meta["digest"]}, nil
	}
	if f.offline {
		return nil, fmt.Errorf("fetch %s of %s: %w", spec.Ref, r.display, ErrOffline)
	}

	// Objects are held in memory: about the size of the checked-out tree,
	// and measurably faster than an on-disk store, which inflates and
	// hashes every object twice (pack index, then checkout).
	st := memory.NewStorage()
	commit, tagObj, err := f.fetchObjects(ctx, st, r, spec, res)
	if err != nil {
		return nil, err
	}
	if commit.Hash.String() != res.Commit {
		// The ref moved between listing and fetching: use what we got.
		res.Commit = commit.Hash.String()
		res.Revision = revision(res.name, res.Commit)
		key = f.cacheKey(r, spec, res)
	}
	if spec.Verify != nil {
		if err := verify(spec, res, commit, tagObj); err != nil {
			return nil, err
		}
	}
	meta := map[string]string{"url": r.display, "commit": res.Commit}
	e, err := f.cache.Put(key, meta, func(dir string) error {
		if err := writeTree(commit, spec.Ignore, dir); err != nil {
			return fmt.Errorf("check out %s of %s: %w", res.Revision, r.display, err)
		}
		d, err := source.DirDigest(dir)
		meta["digest"] = d
		return err
	})
	if err != nil {
		return nil, err
	}
	return &source.Artifact{Dir: e.Dir, Revision: res.Revision, Digest: e.Meta["digest"]}, nil
}

// cacheKey identifies an artifact: the repository (without credentials),
// the commit, and everything that changes the tree or its trust. An
// artifact verified once is reused for the same commit, keys and mode (and
// tag name, when the tag's signature was checked), also when reached
// through another ref.
func (f *Fetcher) cacheKey(r *remote, spec Spec, res *resolution) string {
	h := sha256.New()
	fmt.Fprintf(h, "git\x00%s\x00%s\x00", r.url, res.Commit)
	for _, p := range spec.Ignore {
		fmt.Fprintf(h, "ignore\x00%s\x00", p)
	}
	if v := spec.Verify; v != nil {
		fmt.Fprintf(h, "verify\x00%s\x00", v.Mode)
		for _, k := range v.PublicKeys {
			fmt.Fprintf(h, "key\x00%s\x00", k)
		}
		// A tag signature vouches for a name: an entry verified through
		// tag v1 must not serve tag v2 (or a branch) at the same commit.
		if (spec.Ref.Tag != "" || spec.Ref.SemVer != "") && v.Mode != VerifyHead {
			fmt.Fprintf(h, "tag\x00%s\x00", res.name)
		}
	}
	return "git/" + hex.EncodeToString(h.Sum(nil))
}

// fetchObjects fetches what res names into a repository on st:
// depth 1 for refs and pinned tags, full history of the branch or ref (or
// of all branches) for a pinned commit, which may lie anywhere in it.
func (f *Fetcher) fetchObjects(ctx context.Context, st storage.Storer, r *remote, spec Spec, res *resolution) (*object.Commit, *object.Tag, error) {
	repo, err := git.Init(st, nil)
	if err != nil {
		return nil, nil, err
	}
	rem, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.url}})
	if err != nil {
		return nil, nil, err
	}
	opts := &git.FetchOptions{Auth: r.auth, CABundle: r.caBundle, Tags: git.NoTags}
	var local plumbing.ReferenceName
	pinnedTag := spec.Ref.Commit != "" && spec.Ref.Tag != ""
	switch {
	case spec.Ref.Commit != "" && res.RefName != "" && !pinnedTag:
		local = "refs/strata/fetched"
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + res.RefName + ":" + local.String())}
	case spec.Ref.Commit != "" && res.RefName == "":
		opts.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*"}
	default:
		local = "refs/strata/fetched"
		if strings.HasPrefix(res.RefName, "refs/tags/") {
			local = plumbing.ReferenceName(res.RefName)
		}
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + res.RefName + ":" + local.String())}
		opts.Depth = 1
	}
	if err := rem.FetchContext(ctx, opts); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, nil, r.explain("fetch "+spec.Ref.String()+" from", err)
	}

	var commitHash plumbing.Hash
	var tagObj *object.Tag
	if local == "" || spec.Ref.Commit != "" && !pinnedTag {
		commitHash = plumbing.NewHash(res.Commit)
	} else {
		ref, err := repo.Reference(local, true)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch %s from %s: the server sent no %s: %w", spec.Ref, r.display, res.RefName, ErrRefNotFound)
		}
		commitHash = ref.Hash()
		if t, err := repo.TagObject(ref.Hash()); err == nil {
			tagObj = t
			c, err := t.Commit()
			if err != nil {
				return nil, nil, fmt.Errorf("fetch %s from %s: tag does not point at a commit: %w", spec.Ref, r.display, err)
			}
			commitHash = c.Hash
		}
		if pinnedTag && commitHash.String() != res.Commit {
			return nil, nil, fmt.Errorf("fetch %s from %s: tag %q now points at commit %s: %w", spec.Ref, r.display, spec.Ref.Tag, commitHash, ErrRefNotFound)
		}
	}
	commit, err := repo.CommitObject(commitHash)
	if err != nil {
		if spec.Ref.Commit != "" {
			where := "any branch"
			switch {
			case spec.Ref.Branch != "":
				where = fmt.Sprintf("branch %q", spec.Ref.Branch)
			case spec.Ref.Name != "":
				where = fmt.Sprintf("ref %q", spec.Ref.Name)
			}
			return nil, nil, fmt.Errorf("fetch %s from %s: commit not found on %s: %w", spec.Ref, r.display, where, ErrRefNotFound)
		}
		return nil, nil, fmt.Errorf("fetch %s from %s: %w", spec.Ref, r.display, err)
	}
	return commit, tagObj, nil
}
