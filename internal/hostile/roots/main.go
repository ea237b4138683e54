// Command roots writes the hostile corpus's roots into a directory, one
// folder per case, for scripts/hostile-bench.sh (and for a look by hand):
//
//	go run ./internal/hostile/roots DIR
//
// It prints one line per case: its name, target OS and folder.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/avscout/avscout/internal/hostile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: roots DIR")
		os.Exit(2)
	}
	for _, c := range hostile.Cases() {
		dir := filepath.Join(os.Args[1], c.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		note := ""
		if err := c.Build(dir); errors.Is(err, hostile.ErrNoDevice) {
			note = " (no device node: " + err.Error() + ")"
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", c.Name, err)
			os.Exit(1)
		}
		fmt.Printf("%s %s %s%s\n", c.Name, c.OS, dir, note)
	}
}
