// Command mdmgen writes the generated MDM files of packaging/mdm (ADMX,
// ADML, the macOS settings profile) from the agent's settings table; run
// by `go generate ./packaging/mdm` in that folder.
package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/avscout/avscout/packaging/mdm"
)

func main() {
	files, err := mdm.Files()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mdmgen: %v\n", err)
		os.Exit(1)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "mdmgen: %v\n", err)
			os.Exit(1)
		}
		if err := os.WriteFile(name, files[name], 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "mdmgen: %v\n", err)
			os.Exit(1)
		}
		fmt.Println("mdmgen: wrote", name)
	}
}
