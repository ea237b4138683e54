package rootpath

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/host"
)

// Target maps a path written as on a target running o to the slash
// separated name [host.Host.FS] holds it under: "/opt/kaspersky" becomes
// "opt/kaspersky"; on Windows `C:\Program Files\X` becomes "Program
// Files/X" (any drive letter is taken as the system drive). Relative paths,
// Windows UNC paths, drive-relative paths ("C:X") and environment variables
// are errors: the catalog must list plain absolute paths.
func Target(o host.OS, p string) (string, error) {
	s := p
	if o == host.Windows {
		if strings.Contains(s, "%") {
			return "", fmt.Errorf("environment variables are not expanded")
		}
		s = strings.ReplaceAll(s, `\`, "/")
		if strings.HasPrefix(s, "//") {
			return "", fmt.Errorf("UNC and device paths are not scanned")
		}
		if len(s) >= 2 && s[1] == ':' && isLetter(s[0]) {
			s = s[2:]
		}
	}
	if !strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("not an absolute path")
	}
	s = strings.TrimPrefix(path.Clean(s), "/")
	if s == "" {
		s = "."
	}
	if !fs.ValidPath(s) {
		return "", fmt.Errorf("invalid path")
	}
	return s, nil
}
