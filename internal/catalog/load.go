package catalog

import (
	"bytes"
	"fmt"
	"os"
)

// Load returns the catalog an agent runs with: the built-in one when file
// is "", else the one in file. A file holding only a policy (no vendors or
// products) replaces the built-in policy and keeps the built-in vendor
// knowledge; any other file is a whole catalog. Errors name the file.
func Load(file string) (*Catalog, error) {
	if file == "" {
		return Default()
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if p, ok, err := ParsePolicyOnly(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", file, err)
	} else if ok {
		// Only a policy file needs the built-in catalog; a whole one
		// replaces it.
		builtin, err := Default()
		if err != nil {
			return nil, err
		}
		c, err := builtin.WithPolicy(p)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", file, err)
		}
		return c, nil
	}
	c, err := Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", file, err)
	}
	return c, nil
}
