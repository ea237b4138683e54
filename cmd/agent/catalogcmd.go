package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/avscout/avscout/internal/catalog"
)

func runCatalog(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("catalog")
	format := fs.String("format", "table", "output format: table or json")
	catFile := fs.String("catalog", "", "load the catalog or policy from `FILE`")
	if code, ok := parseFlags(fs, "Lists the vendors and products avscout knows, and which the policy restricts.", args, stdout, stderr); !ok {
		if code == exitOK {
			return nil
		}
		return errReported
	}
	cat, err := catalog.Load(*catFile)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cat)
	case "table":
		return cat.WriteTable(stdout)
	}
	return fmt.Errorf("catalog: unknown --format %q (want table or json)", *format)
}
