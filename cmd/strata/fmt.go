package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/planner/config"
)

// exitFmtCheck is the exit status of `fmt --check` when files need
// formatting, as in `terraform fmt -check`.
const exitFmtCheck = 3

func (a *app) fmtCmd() *cobra.Command {
	var check, diff, recursive bool
	cmd := &cobra.Command{
		Use:   "fmt [DIR|FILE|-]",
		Short: "Rewrite stack files in the canonical format",
		Long: `Fmt rewrites *.hcl files (default: those of the current directory) in the
canonical layout and prints the names of the files it changed. "-" formats
standard input to standard output. A second run changes nothing.

With --check nothing is written and the exit status is 3 when a file needs
formatting (0 when all are formatted, 1 on a syntax error).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := "."
			if len(args) == 1 {
				target = args[0]
			}
			if target == "-" {
				return a.fmtStdin(check, diff)
			}
			files, err := fmtTargets(target, recursive)
			if err != nil {
				return err
			}
			var diags hcl.Diagnostics
			parsed := map[string]*hcl.File{}
			changed := 0
			for _, name := range files {
				src, err := os.ReadFile(name)
				if err != nil {
					return fmt.Errorf("read %s: %w", name, err)
				}
				out, f, ds := formatHCL(src, name)
				parsed[name] = f
				if ds.HasErrors() {
					diags = append(diags, ds...)
					continue
				}
				if bytes.Equal(src, out) {
					continue
				}
				changed++
				fmt.Fprintln(a.stdout, name)
				if diff {
					writeUnifiedDiff(a.stdout, name, src, out)
				}
				if !check {
					fi, err := os.Stat(name)
					if err != nil {
						return err
					}
					if err := os.WriteFile(name, out, fi.Mode().Perm()); err != nil {
						return fmt.Errorf("write %s: %w", name, err)
					}
				}
			}
			if diags.HasErrors() {
				a.writeDiags(diags, parsed)
				return errSilent
			}
			if check && changed > 0 {
				return &exitError{code: exitFmtCheck}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "only check: exit 3 if a file needs formatting, write nothing")
	cmd.Flags().BoolVar(&diff, "diff", false, "print the changes as a unified diff")
	cmd.Flags().BoolVar(&recursive, "recursive", false, "also format files in subdirectories")
	return cmd
}

func (a *app) fmtStdin(check, diff bool) error {
	src, err := io.ReadAll(a.stdin)
	if err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	out, f, diags := formatHCL(src, "<stdin>")
	if diags.HasErrors() {
		a.writeDiags(diags, map[string]*hcl.File{"<stdin>": f})
		return errSilent
	}
	switch {
	case diff:
		writeUnifiedDiff(a.stdout, "<stdin>", src, out)
	case !check:
		_, err = a.stdout.Write(out)
	}
	if check && !bytes.Equal(src, out) {
		return &exitError{code: exitFmtCheck}
	}
	return err
}

// formatHCL checks the syntax of src and returns it formatted.
func formatHCL(src []byte, name string) ([]byte, *hcl.File, hcl.Diagnostics) {
	if diags := config.CheckNesting(src, name); diags.HasErrors() {
		return nil, nil, diags
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, f, diags
	}
	return hclwrite.Format(src), f, nil
}

// fmtTargets lists the files to format: target itself if it is a file,
// else the *.hcl files of the directory (and below it with recursive),
// skipping hidden directories.
func fmtTargets(target string, recursive bool) ([]string, error) {
	fi, err := os.Stat(target)
	if err != nil {
		return nil, fmt.Errorf("no file or directory %s", target)
	}
	if !fi.IsDir() {
		return []string{target}, nil
	}
	var files []string
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != target && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".hcl") || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if err := linkInside(target, p); err != nil {
				return err
			}
		}
		files = append(files, p)
		return nil
	})
	sort.Strings(files)
	return files, err
}

// linkInside refuses the symbolic link p, found in the directory dir, when
// it leads outside dir (or into .git), as the loader refuses such a stack
// file: fmt would print the target's content in a diff or a diagnostic
// and write through the link.
func linkInside(dir, p string) error {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return err
	}
	if _, err := confine.Resolve(dir, rel); errors.Is(err, confine.ErrOutside) {
		return fmt.Errorf("%s is a symbolic link that leads outside %s: strata fmt neither reads nor writes it; replace the link by the file", p, dir)
	}
	return nil
}

// writeUnifiedDiff prints a unified diff (3 lines of context) of a and b.
func writeUnifiedDiff(w io.Writer, name string, a, b []byte) {
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)
	fmt.Fprintf(w, "--- old/%s\n+++ new/%s\n", name, name)
	const ctx = 3
	for i := 0; i < len(ops); {
		// Find the next change.
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(0, i-ctx)
		end := i
		// Extend the hunk while changes are within 2*ctx of each other.
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j
				continue
			}
			if j-end > 2*ctx {
				break
			}
		}
		end = min(len(ops), end+ctx+1)
		aStart, bStart, aN, bN := 0, 0, 0, 0
		for _, op := range ops[:start] {
			if op.kind != '+' {
				aStart++
			}
			if op.kind != '-' {
				bStart++
			}
		}
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				aN++
			}
			if op.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(w, "@@ -%d,%d +%d,%d @@\n", aStart+1, aN, bStart+1, bN)
		for _, op := range ops[start:end] {
			fmt.Fprintf(w, "%c%s\n", op.kind, op.line)
		}
		i = end
	}
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	line string
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// diffLines is a longest-common-subsequence line diff; fine for the size
// of stack files.
func diffLines(a, b []string) []diffOp {
	n, m := len(a), len(b)
	if n*m > 25_000_000 {
		ops := make([]diffOp, 0, n+m)
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}
