// Package confine keeps the files a stack reads inside a directory: the
// stack directory, or the tree of a fetched source. Paths are resolved with
// their symbolic links before the check, so a link cannot lead outside.
//
// Resolve checks one path named by a stack (refusing absolute paths and
// "..", then resolving links); Tree checks every link under a directory
// that a reader such as Helm's chart loader walks and follows; InWorkDir
// checks a path of strata's own files under the stack's .strata directory,
// where no symbolic link is followed at all. Errors for
// paths that lead out wrap ErrOutside.
package confine
