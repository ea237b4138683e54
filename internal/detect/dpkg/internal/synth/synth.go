// Package synth writes large synthetic dpkg status files, for benchmarks,
// scale tests and peak-memory measurements of whole scans. The output is
// deterministic: the same n always gives the same bytes.
package synth

import (
	"bufio"
	"fmt"
	"io"
)

// KasperskyIndex is the record, counting from 0, that WriteStatus makes a
// Kaspersky package (kesl 12.1.0-2968), so a scan of the file has one
// thing to find.
const KasperskyIndex = 50_000

// WriteStatus writes n records of about 600 bytes each to w: Package,
// Status, Priority, Section, Installed-Size, Maintainer, Architecture,
// Version, Depends and a Description with three continuation lines, as
// dpkg writes them. 100,000 records make about 62 MB.
func WriteStatus(w io.Writer, n int) error {
	maintainers := [...]string{
		"GNU Libc Maintainers <debian-glibc@lists.debian.org>",
		"Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>",
		"Santiago Vila <sanvila@debian.org>",
		"Dpkg Developers <debian-dpkg@lists.debian.org>",
		"Debian Python Team <team+python@tracker.debian.org>",
		"Debian Perl Group <pkg-perl-maintainers@lists.alioth.debian.org>",
		"Debian X Strike Force <debian-x@lists.debian.org>",
		"Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>",
	}
	sections := [...]string{"libs", "admin", "utils", "net", "python", "perl", "x11", "devel"}
	bw := bufio.NewWriterSize(w, 256<<10)
	for i := range n {
		name := fmt.Sprintf("synthetic-package-%06d", i)
		maint := maintainers[i%len(maintainers)]
		version := fmt.Sprintf("%d.%d.%d-%d+deb12u%d", i%7, i%13, i%101, i%5+1, i%3)
		synopsis := "synthetic library for scale tests, shared objects"
		if i == KasperskyIndex {
			name, version = "kesl", "12.1.0-2968"
			maint = "AO Kaspersky Lab <support@kaspersky.com>"
			synopsis = "Kaspersky Endpoint Security for Linux"
		}
		_, err := fmt.Fprintf(bw, `Package: %s
Status: install ok installed
Priority: optional
Section: %s
Installed-Size: %d
Maintainer: %s
Architecture: amd64
Version: %s
Depends: libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 12), zlib1g (>= 1:1.2.0), libssl3 (>= 3.0.0), libsystemd0 (>= 252)
Description: %s
 This package is generated to measure how the dpkg parser scales with
 the size of the status file. Its text is as long as a typical Debian
 description so that record sizes and line counts look realistic.

`, name, sections[i%len(sections)], 100+i%9000, maint, version, synopsis)
		if err != nil {
			return fmt.Errorf("writing synthetic status: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing synthetic status: %w", err)
	}
	return nil
}
