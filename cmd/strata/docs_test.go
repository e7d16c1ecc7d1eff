package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestCommandsDocNamesEveryFlag keeps docs/commands.md complete: every
// command of strata has a section there ("## `strata COMMAND ...`"), every
// subcommand is named in its command's section as "strata COMMAND SUB",
// and every flag of a command or subcommand, long form and shorthand, is
// named in the section. A flag added without its documentation fails
// here. (completion and help are cobra's own, described by their --help.)
func TestCommandsDocNamesEveryFlag(t *testing.T) {
	b, err := os.ReadFile("../../docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	heading := regexp.MustCompile("(?m)^## `strata ([a-z-]+)[^`]*`[ \t]*$")
	doc := string(b)
	locs := heading.FindAllStringSubmatchIndex(doc, -1)
	for i, l := range locs {
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		sections[doc[l[2]:l[3]]] = doc[l[0]:end]
	}

	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	root := a.rootCmd()
	if len(root.Commands()) < 10 {
		t.Fatalf("root has %d commands: the walk is broken", len(root.Commands()))
	}
	for _, cmd := range root.Commands() {
		if cmd.Name() == "help" || cmd.Name() == "completion" {
			continue
		}
		section, ok := sections[cmd.Name()]
		if !ok {
			t.Errorf("docs/commands.md has no section \"## `strata %s`\"", cmd.Use)
			continue
		}
		checkFlagsDocumented(t, cmd, section)
		for _, sub := range cmd.Commands() {
			if !strings.Contains(section, "strata "+cmd.Name()+" "+sub.Name()) {
				t.Errorf("docs/commands.md, section strata %s: does not name strata %s %s", cmd.Name(), cmd.Name(), sub.Name())
			}
			checkFlagsDocumented(t, sub, section)
		}
	}
	// The shared flags' table stands for them in the sections of plan,
	// apply and destroy: it must list every flag they share.
	_, shared, ok := strings.Cut(doc, "## Flags shared by the commands that plan")
	if !ok {
		t.Fatal("docs/commands.md has no section of the shared flags")
	}
	shared, _, _ = strings.Cut(shared, "\n## ")
	var f stackFlags
	fs := pflag.NewFlagSet("shared", pflag.ContinueOnError)
	f.register(fs)
	fs.VisitAll(func(fl *pflag.Flag) { checkFlagNamed(t, "the shared flags", fl, shared) })
}

// checkFlagsDocumented checks that every flag of cmd is named in section;
// in the sections of the commands that plan, the shared flags' table names
// those of stackFlags.register.
func checkFlagsDocumented(t *testing.T, cmd *cobra.Command, section string) {
	t.Helper()
	sharedRef := strings.Contains(section, "the shared flags above")
	var f stackFlags
	shared := pflag.NewFlagSet("shared", pflag.ContinueOnError)
	f.register(shared)
	cmd.LocalFlags().VisitAll(func(fl *pflag.Flag) {
		if fl.Name == "help" || (sharedRef && shared.Lookup(fl.Name) != nil) {
			return
		}
		checkFlagNamed(t, cmd.CommandPath(), fl, section)
	})
}

func checkFlagNamed(t *testing.T, where string, fl *pflag.Flag, text string) {
	t.Helper()
	// --lock is not named by --lock-timeout.
	if !regexp.MustCompile("--" + regexp.QuoteMeta(fl.Name) + `([^a-z0-9-]|$)`).MatchString(text) {
		t.Errorf("docs/commands.md, %s: flag --%s is not documented", where, fl.Name)
	}
	if fl.Shorthand != "" && !strings.Contains(text, "`-"+fl.Shorthand+"`") {
		t.Errorf("docs/commands.md, %s: shorthand -%s of --%s is not documented", where, fl.Shorthand, fl.Name)
	}
}
