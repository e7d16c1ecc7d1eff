package gitserver

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a repository served by a Server, built with go-git.
type Repo struct {
	// Name is the repository's name in URLs, e.g. "app.git".
	Name string
	// Dir is the working tree; the served repository is Dir/.git.
	Dir  string
	repo *git.Repository
	now  time.Time
}

// CommitOptions configure Repo.Commit.
type CommitOptions struct {
	// Message defaults to "commit".
	Message string
	// SignKey signs the commit with OpenPGP.
	SignKey *openpgp.Entity
	// Remove lists paths to delete before committing.
	Remove []string
}

// Commit writes files (path -> content; mode 0755 when the path ends in
// ".sh") into the working tree of the current branch, commits everything
// and returns the commit hash.
func (r *Repo) Commit(t testing.TB, files map[string]string, opts CommitOptions) plumbing.Hash {
	t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range opts.Remove {
		if _, err := wt.Remove(p); err != nil {
			t.Fatalf("remove %s: %v", p, err)
		}
	}
	for p, content := range files {
		full := filepath.Join(r.Dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if filepath.Ext(p) == ".sh" {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	msg := opts.Message
	if msg == "" {
		msg = "commit"
	}
	r.now = r.now.Add(time.Minute)
	h, err := wt.Commit(msg, &git.CommitOptions{
		Author:            r.sig(),
		SignKey:           opts.SignKey,
		AllowEmptyCommits: true,
	})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	return h
}

func (r *Repo) sig() *object.Signature {
	return &object.Signature{Name: "Test", Email: "test@example.com", When: r.now}
}

// Checkout switches the working tree to branch, creating it at the
// current HEAD when it does not exist.
func (r *Repo) Checkout(t testing.TB, branch string) {
	t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	name := plumbing.NewBranchReferenceName(branch)
	_, err = r.repo.Reference(name, false)
	if err := wt.Checkout(&git.CheckoutOptions{Branch: name, Create: err != nil, Keep: true}); err != nil {
		t.Fatalf("checkout %s: %v", branch, err)
	}
}

// SetRef points the full reference name at h, e.g. "refs/pull/42/head".
func (r *Repo) SetRef(t testing.TB, name string, h plumbing.Hash) {
	t.Helper()
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(name), h)); err != nil {
		t.Fatal(err)
	}
}

// Tag creates a lightweight tag at h.
func (r *Repo) Tag(t testing.TB, name string, h plumbing.Hash) {
	t.Helper()
	if _, err := r.repo.CreateTag(name, h, nil); err != nil {
		t.Fatalf("tag %s: %v", name, err)
	}
}

// AnnotatedTag creates an annotated tag at h, signed when key is not nil,
// and returns the tag object's hash.
func (r *Repo) AnnotatedTag(t testing.TB, name string, h plumbing.Hash, key *openpgp.Entity) plumbing.Hash {
	t.Helper()
	ref, err := r.repo.CreateTag(name, h, &git.CreateTagOptions{Tagger: r.sig(), Message: "release " + name, SignKey: key})
	if err != nil {
		t.Fatalf("tag %s: %v", name, err)
	}
	return ref.Hash()
}

// Head returns the current HEAD commit.
func (r *Repo) Head(t testing.TB) plumbing.Hash {
	t.Helper()
	ref, err := r.repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Hash()
}

// Git returns the go-git repository for anything the helpers do not cover.
func (r *Repo) Git() *git.Repository { return r.repo }
