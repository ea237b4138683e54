package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/cliflag"
)

// errHelp marks help that was asked for and printed: exit 0.
var errHelp = errors.New("help shown")

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "help" || slices.Contains(helpArgs, arg) }

// wantsHelp reports whether a flag of args, before any "--", asks for help.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if slices.Contains(helpArgs, a) {
			return true
		}
	}
	return false
}

// newFlags returns the flag set of "avscout-collector NAME". Its usage
// is synopsis and the flags in the README's --flag form, printed to
// stdout when args ask for help (parse then returns errHelp) and to
// stderr after a mistake.
func newFlags(name, synopsis string, args []string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if wantsHelp(args) {
		fs.SetOutput(stdout)
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage:\n%s\n", synopsis)
		cliflag.WriteFlags(w, fs)
	}
	return fs
}

// subUsage prints the synopses of a command's subcommands.
func subUsage(w io.Writer, lines ...string) {
	fmt.Fprintf(w, "Usage:\n%s\n\nRun with a subcommand and --help for its flags.\n", strings.Join(lines, "\n"))
}
