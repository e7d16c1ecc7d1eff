package git_test

import gogitplumbing "github.com/go-git/go-git/v5/plumbing"

func plumbing(h string) gogitplumbing.Hash { return gogitplumbing.NewHash(h) }
