package macpkg

import (
	"bytes"
	"compress/gzip"
	"debug/macho"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ComponentDir is the name of the component package inside the product
// archive; the Distribution refers to it as "#base.pkg".
const ComponentDir = "base.pkg"

// Product describes a product archive with one component package, the
// kind Jamf, Intune and productsign expect (a "distribution" pkg).
type Product struct {
	Identifier string // e.g. io.avscout.agent (also the receipt id, `pkgutil --pkgs`)
	Version    string // numeric dotted, compared by Installer on upgrade
	Title      string
	// MinOS is the oldest macOS the Distribution allows, e.g. "12.0".
	MinOS string
	// Files is the payload, installed relative to "/": "." first, every
	// directory before its contents.
	Files []File
	// Scripts are the component's install scripts by name (preinstall,
	// postinstall); they are archived root:wheel 0755.
	Scripts map[string][]byte
	// ModTime stamps the scripts, the xar members and the TOC.
	ModTime time.Time
}

func (p Product) check() error {
	identRE := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
	versionRE := regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,3}$`)
	if !identRE.MatchString(p.Identifier) {
		return fmt.Errorf("pkg identifier %q: want reverse-DNS letters, digits, dots, dashes", p.Identifier)
	}
	if !versionRE.MatchString(p.Version) {
		return fmt.Errorf("pkg version %q: want numeric MAJOR.MINOR.BUILD", p.Version)
	}
	if strings.TrimSpace(p.Title) == "" {
		return fmt.Errorf("pkg %s: no title", p.Identifier)
	}
	if !versionRE.MatchString(p.MinOS) {
		return fmt.Errorf("pkg minimum macOS %q: want a version like 12.0", p.MinOS)
	}
	for name := range p.Scripts {
		if name != "preinstall" && name != "postinstall" {
			return fmt.Errorf("pkg script %q: only preinstall and postinstall are supported", name)
		}
	}
	return checkTree(p.Files)
}

// gzipBytes compresses deterministically (no name, zero mtime in the header).
func gzipBytes(b []byte) ([]byte, error) {
	return compress(b, func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriterLevel(w, gzip.BestCompression) })
}

// compress runs b through the compressing writer newWriter makes.
func compress(b []byte, newWriter func(io.Writer) (io.WriteCloser, error)) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := newWriter(&buf)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func cpioGzip(files []File) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteCPIO(&buf, files); err != nil {
		return nil, err
	}
	return gzipBytes(buf.Bytes())
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder never fail
	return strings.ReplaceAll(b.String(), `"`, "&quot;")
}

func installKBytes(files []File) int {
	total := 0
	for _, f := range files {
		total += f.size()
	}
	return (total + 1023) / 1024
}

// PackageInfo returns the component's PackageInfo: install location "/",
// authorization root, and overwrite-permissions so that the owner and mode
// of every payload directory are what the payload says even when the
// directory already existed (the payload holds only system directories
// that are root:wheel 0755 on every Mac, and our own).
func (p Product) PackageInfo() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?>
<pkg-info format-version="2" identifier="%s" version="%s" install-location="/" auth="root" overwrite-permissions="true" relocatable="false" postinstall-action="none" generator-version="avscout-macpkg">
    <payload numberOfFiles="%d" installKBytes="%d"/>
    <bundle-version/>
    <upgrade-bundle/>
    <update-bundle/>
    <atomic-update-bundle/>
    <strict-identifier/>
    <relocate/>
`, esc(p.Identifier), esc(p.Version), len(p.Files), installKBytes(p.Files))
	if len(p.Scripts) > 0 {
		b.WriteString("    <scripts>\n")
		for _, name := range []string{"preinstall", "postinstall"} {
			if _, ok := p.Scripts[name]; ok {
				fmt.Fprintf(&b, "        <%s file=\"./%s\"/>\n", name, name)
			}
		}
		b.WriteString("    </scripts>\n")
	}
	b.WriteString("</pkg-info>\n")
	return []byte(b.String())
}

// Distribution returns the product archive's Distribution: both Mac CPU
// families (so Apple silicon does not ask for Rosetta), no customization,
// the system volume only, and the minimum macOS version.
func (p Product) Distribution() []byte {
	id, v := esc(p.Identifier), esc(p.Version)
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<installer-gui-script minSpecVersion="2">
    <title>%s</title>
    <options customize="never" require-scripts="false" hostArchitectures="arm64,x86_64"/>
    <domains enable_anywhere="false" enable_currentUserHome="false" enable_localSystem="true"/>
    <volume-check>
        <allowed-os-versions>
            <os-version min="%s"/>
        </allowed-os-versions>
    </volume-check>
    <choices-outline>
        <line choice="default">
            <line choice="%s"/>
        </line>
    </choices-outline>
    <choice id="default"/>
    <choice id="%s" visible="false">
        <pkg-ref id="%s"/>
    </choice>
    <pkg-ref id="%s" version="%s" onConclusion="none" installKBytes="%d">#%s</pkg-ref>
    <product id="%s" version="%s"/>
</installer-gui-script>
`, esc(p.Title), esc(p.MinOS), id, id, id, id, v, installKBytes(p.Files), ComponentDir, id, v))
}

// Write writes the product archive (the .pkg file).
func (p Product) Write(w io.Writer) error {
	if err := p.check(); err != nil {
		return err
	}
	payload, err := cpioGzip(p.Files)
	if err != nil {
		return fmt.Errorf("pkg payload: %w", err)
	}
	var bom bytes.Buffer
	if err := WriteBom(&bom, p.Files); err != nil {
		return fmt.Errorf("pkg: %w", err)
	}
	t := p.ModTime.UTC()
	member := func(name string, data []byte, compress bool) XarFile {
		return XarFile{Name: name, Mode: 0o644, User: "root", Group: "wheel", ModTime: t, Data: data, Compress: compress}
	}
	component := []XarFile{
		member("Bom", bom.Bytes(), true),
		member("PackageInfo", p.PackageInfo(), true),
		member("Payload", payload, false),
	}
	if len(p.Scripts) > 0 {
		names := make([]string, 0, len(p.Scripts))
		for n := range p.Scripts {
			names = append(names, n)
		}
		sort.Strings(names)
		sfiles := []File{{Path: ".", Mode: fs.ModeDir | 0o755, ModTime: t}}
		for _, n := range names {
			sfiles = append(sfiles, File{Path: n, Mode: 0o755, ModTime: t, Data: p.Scripts[n]})
		}
		scripts, err := cpioGzip(sfiles)
		if err != nil {
			return fmt.Errorf("pkg scripts: %w", err)
		}
		component = append(component, member("Scripts", scripts, false))
	}
	files := []XarFile{
		member("Distribution", p.Distribution(), true),
		{Name: ComponentDir, Dir: true, Mode: 0o755, User: "root", Group: "wheel", ModTime: t, Children: component},
	}
	if err := WriteXar(w, files, t); err != nil {
		return fmt.Errorf("pkg: %w", err)
	}
	return nil
}

// lcBuildVersion is LC_BUILD_VERSION (<mach-o/loader.h>): platform, minos
// and sdk as xxxx.yy.zz nibbles.
const lcBuildVersion = 0x32

// MinOS returns the minimum OS version a thin Mach-O binary declares in
// LC_BUILD_VERSION (the Go linker writes it), e.g. "12.0".
func MinOS(data []byte) (string, error) {
	f, err := macho.NewFile(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("mach-o: %w", err)
	}
	defer f.Close()
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) >= 16 && f.ByteOrder.Uint32(raw) == lcBuildVersion {
			v := f.ByteOrder.Uint32(raw[12:])
			s := strconv.Itoa(int(v>>16)) + "." + strconv.Itoa(int(v>>8&0xff))
			if p := v & 0xff; p != 0 {
				s += "." + strconv.Itoa(int(p))
			}
			return s, nil
		}
	}
	return "", fmt.Errorf("mach-o: no LC_BUILD_VERSION load command")
}

// VersionLess compares numeric dotted versions ("11.7" < "12.0").
func VersionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
