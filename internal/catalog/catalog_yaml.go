//go:build catgen

package catalog

import (
	"bytes"
	_ "embed"
)

// With the catgen tag (only while `go generate` writes catalog_gen.go) the
// built-in catalog is catalog.yaml decoded at run time, so that a stale
// catalog_gen.go cannot stop the generator compiling.

//go:embed catalog.yaml
var yamlCatalog []byte

func builtin() *Catalog {
	c, err := Parse(bytes.NewReader(yamlCatalog))
	if err != nil {
		panic("catalog.yaml: " + err.Error()) // the generator parses it again and reports the error
	}
	return c
}
