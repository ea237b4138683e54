package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/avscout/avscout/internal/cliflag"
)

// newFlags returns the flag set of `avscout <name>`. It prints nothing
// itself: parseFlags writes the help and the errors, in the README's
// --flag style rather than the flag package's "Usage of …" and -flag.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs. When parsing ends the command it returns
// false and the exit code: --help (or -h) prints the help, summary and
// flags, to stdout and exits 0; a bad flag is an error on stderr, exit 2.
func parseFlags(fs *flag.FlagSet, summary string, args []string, stdout, stderr io.Writer) (int, bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		writeHelp(stdout, fs, summary)
		return exitOK, false
	}
	fmt.Fprintf(stderr, "avscout %s: %s\nRun 'avscout %s --help' for its flags.\n", fs.Name(), cliflag.DoubleDash(err.Error()), fs.Name())
	return exitUsage, false
}

// writeHelp writes `avscout <name> --help`.
func writeHelp(w io.Writer, fs *flag.FlagSet, summary string) {
	fmt.Fprintf(w, "Usage: avscout %s [flags]\n\n%s\n", fs.Name(), summary)
	cliflag.WriteFlags(w, fs)
}
