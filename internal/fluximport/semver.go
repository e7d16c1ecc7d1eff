package fluximport

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/go-version"
)

// versionConstraint translates a Flux (Masterminds semver) version
// constraint to strata's (hashicorp/go-version, Terraform's syntax). It
// returns "" for any version ("*", "x", ""). Constraints go-version cannot
// express (alternatives with ||, partial versions without a wildcard) are
// an error that says why.
func versionConstraint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "||") {
		return "", fmt.Errorf("%q has alternatives (||), which strata's version constraints cannot express", s)
	}
	if m := hyphenRange.FindStringSubmatch(s); m != nil {
		s = ">=" + m[1] + " <=" + m[2]
	}
	var out []string
	for _, part := range splitConstraint(s) {
		c, err := translatePart(part)
		if err != nil {
			return "", fmt.Errorf("%q: %w", s, err)
		}
		if c != "" {
			out = append(out, c)
		}
	}
	res := strings.Join(out, ", ")
	if res == "" {
		return "", nil
	}
	if _, err := version.NewConstraint(res); err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return res, nil
}

var (
	hyphenRange = regexp.MustCompile(`^\s*(\S+)\s+-\s+(\S+)\s*$`)
	partRE      = regexp.MustCompile(`(?s)^(=|!=|>=|<=|>|<|~>|~|\^)?\s*v?(.*)$`)
)

// splitConstraint splits at commas and at spaces between terms, keeping an
// operator with its version (">= 1.0" is one term).
func splitConstraint(s string) []string {
	var terms []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if n := len(terms); n > 0 && strings.Trim(terms[n-1], "=<>!~^") == "" {
			terms[n-1] += f
			continue
		}
		terms = append(terms, f)
	}
	return terms
}

// translatePart translates one term.
func translatePart(part string) (string, error) {
	m := partRE.FindStringSubmatch(part)
	op, v := m[1], m[2]
	segs, wild := segments(v)
	if segs == nil && !wild {
		return "", fmt.Errorf("%q is not a version", part)
	}
	pre := ""
	if i := strings.IndexAny(v, "-+"); i >= 0 && !wild {
		pre = v[i:]
	}
	switch {
	case len(segs) == 0: // *, x
		if op == "" || op == "=" || op == ">=" {
			return "", nil
		}
		return "", fmt.Errorf("%q matches no version", part)
	case op == "^":
		return caret(segs, pre), nil
	case op == "~" || op == "~>":
		return tilde(segs, pre), nil
	case wild || len(segs) < 3:
		return wildcard(op, segs, part)
	}
	if op == "" || op == "=" {
		return join(segs) + pre, nil // exact
	}
	return op + " " + join(segs) + pre, nil
}

// segments parses "1.2.3", "1.2.x", "1.*" (wild: a wildcard or missing
// part ends it); nil when v is not a version.
func segments(v string) (segs []int, wild bool) {
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	if v == "" || v == "*" || v == "x" || v == "X" {
		return []int{}, true
	}
	for _, p := range strings.Split(v, ".") {
		if p == "*" || p == "x" || p == "X" {
			return segs, true
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(segs) == 3 {
			return nil, false
		}
		segs = append(segs, n)
	}
	return segs, false
}

func join(segs []int) string {
	s := make([]string, 3)
	for i := range s {
		if i < len(segs) {
			s[i] = strconv.Itoa(segs[i])
		} else {
			s[i] = "0"
		}
	}
	return strings.Join(s, ".")
}

// upper returns the smallest version above every version that starts
// with the first n segments of segs.
func upper(segs []int, n int) string {
	u := append([]int(nil), segs[:n]...)
	u[n-1]++
	return join(u)
}

// caret: ^1.2.3 is >=1.2.3 <2.0.0; ^0.2.3 is <0.3.0; ^0.0.3 is <0.0.4.
func caret(segs []int, pre string) string {
	n := 1
	for n < len(segs) && segs[n-1] == 0 {
		n++
	}
	return ">= " + join(segs) + pre + ", < " + upper(segs, n)
}

// tilde: ~1.2.3 and ~1.2 are >=1.2.x <1.3.0; ~1 is >=1.0.0 <2.0.0.
func tilde(segs []int, pre string) string {
	n := min(len(segs), 2)
	return ">= " + join(segs) + pre + ", < " + upper(segs, n)
}

// wildcard translates 1.2.x, 1.x and the partial versions of a comparison.
func wildcard(op string, segs []int, part string) (string, error) {
	lo, hi := join(segs), upper(segs, len(segs))
	switch op {
	case "", "=":
		return ">= " + lo + ", < " + hi, nil
	case ">=":
		return ">= " + lo, nil
	case "<":
		return "< " + lo, nil
	case ">":
		return ">= " + hi, nil
	case "<=":
		return "< " + hi, nil
	}
	return "", fmt.Errorf("%q cannot be translated", part)
}
