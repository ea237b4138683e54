package macos

import (
	"bytes"
	"compress/gzip"
	"debug/macho"
	"encoding/xml"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"howett.net/plist"

	codesig "github.com/avscout/avscout/internal/detect/macho"
	"github.com/avscout/avscout/packaging/macos/macpkg"
)

const (
	pkgVersion = "0.1.40"
	epoch      = 1700000000 // SOURCE_DATE_EPOCH for the test builds
)

// repoRoot is two levels up from packaging/macos.
func repoRoot(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed by this test (apt-get install libarchive-tools libplist-utils): %v", tool, err)
		}
	}
}

// crossBuild builds the agent for the platforms build.sh takes, into a
// BIN folder named as `make cross` names them.
func crossBuild(t *testing.T, root string) string {
	t.Helper()
	goBin, err := exec.Command(filepath.Join(root, "scripts/ensure-go.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/ensure-go.sh: %v", err)
	}
	bin := t.TempDir()
	for _, p := range []string{"darwin/amd64", "darwin/arm64", "linux/" + runtime.GOARCH} {
		goos, goarch, _ := strings.Cut(p, "/")
		cmd := exec.Command(strings.TrimSpace(string(goBin)), "build", "-trimpath", "-o", filepath.Join(bin, "avscout-"+goos+"-"+goarch), "./cmd/agent")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, out)
		}
	}
	return bin
}

func runBuild(t *testing.T, root, bin string) []byte {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "packaging/macos/build.sh"))
	cmd.Env = append(os.Environ(), "BIN="+bin, "OUT="+out, "PKG_VERSION="+pkgVersion, "VERSION="+pkgVersion+"+gtest",
		"SOURCE_DATE_EPOCH="+strconv.Itoa(epoch))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	} else {
		t.Logf("build.sh: %s", bytes.TrimSpace(b))
	}
	data, err := os.ReadFile(filepath.Join(out, "avscout-"+pkgVersion+".pkg"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func gunzipCPIO(t *testing.T, name string, data []byte) []macpkg.File {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	files, err := macpkg.ReadCPIO(zr, 1<<30)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		t.Fatalf("%s: gzip trailer: %v", name, err)
	}
	return files
}

// TestPackage builds the real package from real cross-compiled darwin
// binaries with build.sh and inspects every layer of it.
func TestPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent three times and the package twice")
	}
	needTools(t, "bsdtar", "plistutil", "cksum")
	root := repoRoot(t)
	bin := crossBuild(t, root)
	pkg := runBuild(t, root, bin)

	t.Run("deterministic", func(t *testing.T) {
		if again := runBuild(t, root, bin); !bytes.Equal(again, pkg) {
			t.Fatal("two builds from the same inputs differ")
		}
	})

	x, err := macpkg.OpenXar(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	wantTOC := []string{"Distribution", "base.pkg", "base.pkg/Bom", "base.pkg/PackageInfo", "base.pkg/Payload", "base.pkg/Scripts"}
	var toc []string
	for _, e := range x.Entries {
		toc = append(toc, e.Path)
		if e.UID != 0 || e.GID != 0 || e.User != "root" || e.Group != "wheel" {
			t.Errorf("xar %s owned by %s(%d):%s(%d)", e.Path, e.User, e.UID, e.Group, e.GID)
		}
	}
	if !reflect.DeepEqual(toc, wantTOC) {
		t.Fatalf("xar TOC %q, want %q", toc, wantTOC)
	}
	if x.Signed {
		t.Error("the package carries a signature; signing happens on the release machine")
	}

	t.Run("bsdtar lists the same TOC", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "avscout.pkg")
		if err := os.WriteFile(f, pkg, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("bsdtar", "-tf", f).Output()
		if err != nil {
			t.Fatalf("bsdtar -tf: %v", err)
		}
		got := strings.Fields(string(out))
		sort.Strings(got)
		if !reflect.DeepEqual(got, wantTOC) {
			t.Errorf("bsdtar -tf: %q, want %q", got, wantTOC)
		}
		// bsdtar also extracts and checks the members it reads.
		dir := t.TempDir()
		if out, err := exec.Command("bsdtar", "-xf", f, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("bsdtar -xf: %v\n%s", err, out)
		}
		for _, m := range []string{"Distribution", "base.pkg/Payload", "base.pkg/Bom"} {
			got, err := os.ReadFile(filepath.Join(dir, m))
			want, err2 := x.ReadFile(m)
			if err != nil || err2 != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: bsdtar and macpkg extract different bytes (%v, %v)", m, err, err2)
			}
		}
		// And it reads the gzip'ed cpio Payload: every entry root:wheel (0:0).
		out, err = exec.Command("bsdtar", "--numeric-owner", "-tvf", filepath.Join(dir, "base.pkg/Payload")).Output()
		if err != nil {
			t.Fatalf("bsdtar -tvf Payload: %v", err)
		}
		var names []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || f[2] != "0" || f[3] != "0" {
				t.Errorf("bsdtar Payload line %q: want uid 0 gid 0", line)
				continue
			}
			names = append(names, f[8])
		}
		if want := []string{".", "./Library", "./Library/LaunchDaemons", "./Library/LaunchDaemons/io.avscout.agent.plist",
			"./opt", "./opt/avscout", "./opt/avscout/bin", "./opt/avscout/bin/avscout"}; !reflect.DeepEqual(names, want) {
			t.Errorf("bsdtar lists the Payload as %q, want %q", names, want)
		}
	})

	read := func(p string) []byte {
		b, err := x.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	darwinAMD64, _ := os.ReadFile(filepath.Join(bin, "avscout-darwin-amd64"))
	darwinARM64, _ := os.ReadFile(filepath.Join(bin, "avscout-darwin-arm64"))
	unit, err := exec.Command(filepath.Join(bin, "avscout-linux-"+runtime.GOARCH), "service", "unit", "--init", "launchd", "--path", "/opt/avscout/bin/avscout").Output()
	if err != nil {
		t.Fatalf("service unit: %v", err)
	}

	payload := gunzipCPIO(t, "Payload", read("base.pkg/Payload"))
	type want struct {
		path string
		mode fs.FileMode
	}
	wantFiles := []want{
		{".", fs.ModeDir | 0o755},
		{"Library", fs.ModeDir | 0o755},
		{"Library/LaunchDaemons", fs.ModeDir | 0o755},
		{"Library/LaunchDaemons/io.avscout.agent.plist", 0o644},
		{"opt", fs.ModeDir | 0o755},
		{"opt/avscout", fs.ModeDir | 0o755},
		{"opt/avscout/bin", fs.ModeDir | 0o755},
		{"opt/avscout/bin/avscout", 0o755},
	}
	if len(payload) != len(wantFiles) {
		t.Fatalf("Payload has %d entries, want %d: %+v", len(payload), len(wantFiles), payload)
	}
	files := map[string]macpkg.File{}
	for i, f := range payload {
		files[f.Path] = f
		// Apple's system files are root:wheel = uid 0, gid 0 (gid 80 is
		// admin, which must not own anything a root daemon runs).
		if f.Path != wantFiles[i].path || f.Mode != wantFiles[i].mode || f.UID != 0 || f.GID != 0 || !f.ModTime.Equal(time.Unix(epoch, 0)) {
			t.Errorf("Payload entry %d: %s %v %d:%d %v, want %s %v 0:0", i, f.Path, f.Mode, f.UID, f.GID, f.ModTime, wantFiles[i].path, wantFiles[i].mode)
		}
	}

	t.Run("launchd plist", func(t *testing.T) {
		data := files["Library/LaunchDaemons/io.avscout.agent.plist"].Data
		if !bytes.Equal(data, unit) {
			t.Errorf("plist differs from `avscout service unit --init launchd`:\n%s", data)
		}
		f := filepath.Join(t.TempDir(), "io.avscout.agent.plist")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("plistutil", "-i", f, "-o", "/dev/null").CombinedOutput(); err != nil {
			t.Errorf("plistutil: %v\n%s", err, out)
		}
		var job struct {
			Label             string
			ProgramArguments  []string
			RunAtLoad         bool
			StandardErrorPath string
		}
		if _, err := plist.Unmarshal(data, &job); err != nil {
			t.Fatal(err)
		}
		if job.Label != label || !reflect.DeepEqual(job.ProgramArguments, []string{"/opt/avscout/bin/avscout", "service", "run"}) ||
			!job.RunAtLoad || !strings.HasPrefix(job.StandardErrorPath, "/Library/Logs/avscout/") {
			t.Errorf("launchd job %+v", job)
		}
	})

	fat := files["opt/avscout/bin/avscout"].Data
	t.Run("universal binary", func(t *testing.T) {
		ff, err := macho.NewFatFile(bytes.NewReader(fat))
		if err != nil {
			t.Fatal(err)
		}
		defer ff.Close()
		if len(ff.Arches) != 2 {
			t.Fatalf("%d slices", len(ff.Arches))
		}
		// The code signatures as the agent's own Mach-O reader sees them.
		sigs, err := codesig.Read(bytes.NewReader(fat), int64(len(fat)))
		if err != nil || len(sigs) != 2 {
			t.Fatalf("code signatures %+v: %v", sigs, err)
		}
		for i, w := range []struct {
			cpu   macho.Cpu
			align uint32
			data  []byte
		}{{macho.CpuAmd64, 12, darwinAMD64}, {macho.CpuArm64, 14, darwinARM64}} {
			a := ff.Arches[i]
			if a.Cpu != w.cpu || a.Align != w.align || a.Offset%(1<<a.Align) != 0 || !bytes.Equal(fat[a.Offset:a.Offset+a.Size], w.data) {
				t.Errorf("slice %d: %v align 2^%d offset %d size %d; want %v, the darwin binary", i, a.Cpu, a.Align, a.Offset, a.Size, w.cpu)
			}
			// The Go linker ad-hoc signs darwin/arm64 binaries (Apple silicon
			// runs nothing unsigned); the slice keeps its LC_CODE_SIGNATURE.
			if w.cpu == macho.CpuArm64 && (sigs[i].Arch != "arm64" || !sigs[i].Signed) {
				t.Error("arm64 slice lost its LC_CODE_SIGNATURE")
			}
		}
	})

	t.Run("Bom matches the Payload", func(t *testing.T) {
		bom, err := macpkg.ReadBom(read("base.pkg/Bom"))
		if err != nil {
			t.Fatal(err)
		}
		if len(bom) != len(payload) {
			t.Fatalf("Bom has %d paths, Payload %d", len(bom), len(payload))
		}
		for i, e := range bom {
			f := payload[i]
			name := "."
			if f.Path != "." {
				name = "./" + f.Path
			}
			var typ uint8 = macpkg.BomFile
			var size, sum uint32
			mode := uint16(0o100000 | f.Mode.Perm())
			if f.Mode.IsDir() {
				typ, mode = macpkg.BomDirectory, uint16(0o40000|f.Mode.Perm())
			} else {
				size, sum = uint32(len(f.Data)), macpkg.Cksum(f.Data)
			}
			if e.Path != name || e.Type != typ || e.Mode != mode || e.UID != 0 || e.GID != 0 || e.Size != size || e.Checksum != sum || !e.ModTime.Equal(f.ModTime) {
				t.Errorf("Bom %d: %+v; Payload has %s mode %o size %d cksum %d", i, e, name, mode, size, sum)
			}
		}
		// The CRC is the one macOS and GNU cksum print.
		for _, e := range bom {
			if e.Type != macpkg.BomFile {
				continue
			}
			cmd := exec.Command("cksum")
			cmd.Stdin = bytes.NewReader(files[strings.TrimPrefix(e.Path, "./")].Data)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if fields := strings.Fields(string(out)); len(fields) < 2 || fields[0] != strconv.FormatUint(uint64(e.Checksum), 10) || fields[1] != strconv.Itoa(int(e.Size)) {
				t.Errorf("%s: cksum says %q, Bom %d %d", e.Path, out, e.Checksum, e.Size)
			}
		}
		// The universal binary is described slice by slice.
		bin := bom[len(bom)-1]
		if len(bin.Arches) != 2 || bin.Arches[0].CPU != macho.CpuAmd64 || bin.Arches[1].CPU != macho.CpuArm64 ||
			bin.Arches[1].Checksum != macpkg.Cksum(darwinARM64) || bin.Arches[0].Size != uint32(len(darwinAMD64)) {
			t.Errorf("binary's Bom architectures %+v", bin.Arches)
		}
	})

	t.Run("PackageInfo", func(t *testing.T) {
		var pi struct {
			Identifier      string `xml:"identifier,attr"`
			Version         string `xml:"version,attr"`
			InstallLocation string `xml:"install-location,attr"`
			Auth            string `xml:"auth,attr"`
			Payload         struct {
				Files int `xml:"numberOfFiles,attr"`
				KB    int `xml:"installKBytes,attr"`
			} `xml:"payload"`
			Pre struct {
				File string `xml:"file,attr"`
			} `xml:"scripts>preinstall"`
			Post struct {
				File string `xml:"file,attr"`
			} `xml:"scripts>postinstall"`
		}
		if err := xml.Unmarshal(read("base.pkg/PackageInfo"), &pi); err != nil {
			t.Fatal(err)
		}
		if pi.Identifier != label || pi.Version != pkgVersion || pi.InstallLocation != "/" || pi.Auth != "root" ||
			pi.Payload.Files != len(payload) || pi.Payload.KB < len(fat)/1024 || pi.Pre.File != "./preinstall" || pi.Post.File != "./postinstall" {
			t.Errorf("PackageInfo %+v", pi)
		}
	})

	t.Run("Distribution", func(t *testing.T) {
		var d struct {
			Title   string `xml:"title"`
			Options struct {
				Customize string `xml:"customize,attr"`
				Arches    string `xml:"hostArchitectures,attr"`
			} `xml:"options"`
			Domains struct {
				Local    string `xml:"enable_localSystem,attr"`
				Anywhere string `xml:"enable_anywhere,attr"`
			} `xml:"domains"`
			OS struct {
				Min string `xml:"min,attr"`
			} `xml:"volume-check>allowed-os-versions>os-version"`
			PkgRef []struct {
				ID      string `xml:"id,attr"`
				Version string `xml:"version,attr"`
				Ref     string `xml:",chardata"`
			} `xml:"pkg-ref"`
		}
		if err := xml.Unmarshal(read("Distribution"), &d); err != nil {
			t.Fatal(err)
		}
		if d.Title == "" || d.Options.Customize != "never" || d.Options.Arches != "arm64,x86_64" || d.Domains.Local != "true" || d.Domains.Anywhere != "false" {
			t.Errorf("Distribution %+v", d)
		}
		var ref bool
		for _, r := range d.PkgRef {
			if r.ID == label && r.Ref == "#base.pkg" && r.Version == pkgVersion {
				ref = true
			}
		}
		if !ref {
			t.Errorf("no pkg-ref to #base.pkg version %s: %+v", pkgVersion, d.PkgRef)
		}
		// The minimum macOS admits no Mac the Go binaries cannot run on.
		for _, b := range [][]byte{darwinAMD64, darwinARM64} {
			need, err := macpkg.MinOS(b)
			if err != nil {
				t.Fatal(err)
			}
			if d.OS.Min == "" || macpkg.VersionLess(d.OS.Min, need) {
				t.Errorf("Distribution allows macOS %q, the binary needs %s", d.OS.Min, need)
			}
		}
	})

	t.Run("Scripts", func(t *testing.T) {
		scripts := gunzipCPIO(t, "Scripts", read("base.pkg/Scripts"))
		var names []string
		for _, s := range scripts {
			names = append(names, s.Path)
			if s.UID != 0 || s.GID != 0 || (s.Path != "." && s.Mode != 0o755) {
				t.Errorf("Scripts %s: %v %d:%d", s.Path, s.Mode, s.UID, s.GID)
			}
			if s.Path == "." {
				continue
			}
			src, err := os.ReadFile(filepath.Join("scripts", s.Path))
			if err != nil || !bytes.Equal(src, s.Data) {
				t.Errorf("Scripts %s differs from scripts/%s (%v)", s.Path, s.Path, err)
			}
			f := filepath.Join(t.TempDir(), s.Path)
			if err := os.WriteFile(f, s.Data, 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("sh", "-n", f).CombinedOutput(); err != nil {
				t.Errorf("sh -n %s: %v\n%s", s.Path, err, out)
			}
		}
		if want := []string{".", "postinstall", "preinstall"}; !reflect.DeepEqual(names, want) {
			t.Errorf("Scripts holds %q, want %q", names, want)
		}
	})
}
