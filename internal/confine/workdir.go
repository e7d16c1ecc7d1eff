package confine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// WorkDir is the directory strata keeps its own files in, beside a stack's
// files: the default local state, environment states, the drift baseline
// and the artifact cache.
const WorkDir = ".strata"

// ErrLink is wrapped by the errors for a symbolic link where strata reads
// or writes its own files.
var ErrLink = errors.New("a symbolic link, which strata does not follow in its own directory")

// InWorkDir checks a path p that strata is about to read or write: when p
// is stack's WorkDir or below it, neither WorkDir nor any directory or file
// on the way to p may be a symbolic link (a pull request can commit one
// leading anywhere). Components that do not exist yet end the check: strata
// creates them. Paths outside WorkDir (a state file the user names) are not
// checked. The error names the offending path and wraps ErrLink.
func InWorkDir(stack, p string) error {
	s, err := filepath.Abs(stack)
	if err != nil {
		return err
	}
	if p, err = filepath.Abs(p); err != nil {
		return err
	}
	if !Within(filepath.Join(s, WorkDir), p) {
		return nil
	}
	return NoLinks(s, p)
}

// NoLinks checks, with os.Lstat, that no component of p below base (both
// absolute and clean, p inside base) is a symbolic link. base itself may
// be one. A component that does not exist ends the check.
func NoLinks(base, p string) error {
	rel, err := filepath.Rel(base, p)
	if err != nil || !Within(base, p) {
		return fmt.Errorf("%s is not below %s", p, base)
	}
	cur := base
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		if c == "." {
			continue
		}
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is %w", cur, ErrLink)
		}
	}
	return nil
}
