package rootpath

import (
	"testing"

	"github.com/avscout/avscout/internal/rootpath/roottest"
)

// fixture builds a root in a temporary directory (see roottest.Tree).
func fixture(t *testing.T, tree map[string]string) string {
	t.Helper()
	return roottest.Tree(t, tree)
}
