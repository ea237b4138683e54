// Package cliflag writes the help of the agent's and the collector's
// commands in one style, the README's: flags are named "--flag VALUE",
// not the flag package's "-flag string". Both binaries use it so their
// help cannot drift apart.
package cliflag

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// WriteFlags writes a "Flags:" section listing fs's flags as
// "--name VALUE", each with its help text and any default worth saying,
// after a blank line. It writes nothing when fs has no flags.
func WriteFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		name, usage := flag.UnquoteUsage(f)
		if name == "string" {
			name = f.Name // --format FORMAT, not --format STRING
		}
		line := "  --" + f.Name
		if name != "" {
			line += " " + strings.ToUpper(name)
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if def := f.DefValue; !zeroDefault(def) {
			fmt.Fprintf(w, " (default %s)", def)
		}
		fmt.Fprintln(w)
	})
}

// zeroDefault reports whether a flag's default says nothing (an empty
// string, false, zero, no duration).
func zeroDefault(def string) bool {
	switch def {
	case "", "false", "0", "0s", "-1ns":
		return true
	}
	return false
}

// DoubleDash rewrites the flag package's error texts, which name flags
// with one dash ("flag provided but not defined: -x"), the way the help
// and the README write them ("--x").
func DoubleDash(msg string) string {
	for _, s := range []string{": -", "flag -", "for -"} {
		if i := strings.Index(msg, s); i >= 0 && !strings.HasPrefix(msg[i+len(s):], "-") {
			return msg[:i+len(s)] + "-" + msg[i+len(s):]
		}
	}
	return msg
}
