// Command catgen writes internal/catalog/catalog_gen.go, the built-in
// catalog as Go data, from catalog.yaml after validating it. It runs from
// `go generate ./internal/catalog` (in that directory), built with the
// catgen tag so that a stale catalog_gen.go cannot stop it compiling.
package main

import (
	"fmt"
	"go/format"
	"os"

	"github.com/avscout/avscout/internal/catalog"
)

func main() {
	if err := run("catalog.yaml", "catalog_gen.go"); err != nil {
		fmt.Fprintln(os.Stderr, "catgen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := catalog.Parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	src, err := catalog.GoSource(c)
	if err == nil {
		src, err = format.Source(src)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
