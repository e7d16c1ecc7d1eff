package view

import (
	"io"
	"os"

	"golang.org/x/term"
)

// UseColor decides whether output to w is coloured: never with noColor
// (the --no-color flag), when NO_COLOR is set to anything non-empty or
// TERM is "dumb", and only when w is a terminal. getenv may be nil (no
// environment).
func UseColor(w io.Writer, getenv func(string) string, noColor bool) bool {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if noColor || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(w)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	if _, isFile := w.(*os.File); !isFile {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// The palette: the ANSI styles every renderer of this package uses.
const (
	reset     = "\x1b[0m"
	bold      = "\x1b[1m"
	underline = "\x1b[4m"
	red       = "\x1b[31m"
	green     = "\x1b[32m"
	yellow    = "\x1b[33m"
	cyan      = "\x1b[36m"
)

// painter wraps text in the palette's styles when colour is on, or leaves
// it alone: every renderer paints through one, so colour off means no
// escape sequence at all.
type painter bool

func (p painter) paint(color, s string) string {
	if !p || s == "" {
		return s
	}
	return color + s + reset
}
