// Command genstatus writes a large synthetic dpkg database, so the peak
// memory of a whole scan can be measured:
//
//	go run ./internal/detect/dpkg/internal/genstatus -n 100000 -root /tmp/big
//	/usr/bin/time -v avscout scan --root /tmp/big --os linux
//
// With -parse FILE it instead parses FILE with [dpkg.ParseStatus] and
// prints the record count, to measure the parser alone:
//
//	go build -o /tmp/genstatus ./internal/detect/dpkg/internal/genstatus
//	/usr/bin/time -v /tmp/genstatus -parse /tmp/big/var/lib/dpkg/status
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/avscout/avscout/internal/detect/dpkg"
	"github.com/avscout/avscout/internal/detect/dpkg/internal/synth"
)

func main() {
	n := flag.Int("n", 100_000, "number of package records")
	root := flag.String("root", "", "write DIR/var/lib/dpkg/status (and etc/os-release)")
	out := flag.String("o", "", "write the status file to FILE (- for stdout)")
	parse := flag.String("parse", "", "parse FILE and print the record count instead of writing")
	flag.Parse()
	if err := run(*n, *root, *out, *parse); err != nil {
		fmt.Fprintln(os.Stderr, "genstatus:", err)
		os.Exit(1)
	}
}

func run(n int, root, out, parse string) error {
	if parse != "" {
		return count(parse)
	}
	switch {
	case root != "" && out != "":
		return fmt.Errorf("give -root or -o, not both")
	case root != "":
		admin := filepath.Join(root, "var", "lib", "dpkg")
		if err := os.MkdirAll(admin, 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			return err
		}
		osRelease := "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
		if err := os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte(osRelease), 0o644); err != nil {
			return err
		}
		out = filepath.Join(admin, "status")
	case out == "":
		return fmt.Errorf("give -root DIR, -o FILE or -parse FILE")
	}
	if out == "-" {
		return synth.WriteStatus(os.Stdout, n)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := synth.WriteStatus(f, n); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func count(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	n := 0
	err = dpkg.ParseStatus(f, func(dpkg.Package) error { n++; return nil })
	fmt.Println(n, "records")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
