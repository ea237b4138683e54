package rpm

// Tests on the real databases go-rpmdb ships as test data (captured from
// CentOS 5 to 8, UBI 8 on s390x, Fedora 35, CBL-Mariner and SLE 15), read
// from the module cache: the only Berkeley DB and ndb databases at hand,
// since rpm on Debian cannot write those formats.

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/rpm/internal/rpmdb"
	"github.com/avscout/avscout/internal/host"
)

// readSample reads a sample database in place (read-only, as every read).
func readSample(t *testing.T, rel string) []detect.Observation {
	t.Helper()
	path := sample(t, rel)
	dir, name := filepath.Split(path)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	h := &host.Host{OS: host.Linux, Root: dir, FS: os.DirFS(dir)}
	var obs []detect.Observation
	if err := read(context.Background(), h, name, info, func(o detect.Observation) { obs = append(obs, o) }); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return obs
}

// TestSamples scans roots holding sample databases of each format.
func TestSamples(t *testing.T) {
	tests := []struct {
		sample, at string
		count      int
		want       []detect.Observation // a few known packages
	}{
		{
			"centos7-plain/Packages", "var/lib/rpm/Packages", 144,
			[]detect.Observation{
				{Name: "bash", Version: "4.2.46-30.el7", Vendor: "CentOS", Packager: "CentOS BuildSystem <http://bugs.centos.org>", Detail: "bash 4.2.46-30.el7 (vendor CentOS, x86_64)"},
				{Name: "openssl-libs", Version: "1:1.0.2k-12.el7", Vendor: "CentOS", Packager: "CentOS BuildSystem <http://bugs.centos.org>", Detail: "openssl-libs 1:1.0.2k-12.el7 (vendor CentOS, x86_64)"},
			},
		},
		{
			"ubi8-s390x/Packages", "var/lib/rpm/Packages", 183, // big-endian Berkeley DB
			[]detect.Observation{
				{Name: "bash", Version: "4.4.20-3.el8", Vendor: "Red Hat, Inc.", Packager: "Red Hat, Inc. <http://bugzilla.redhat.com/bugzilla>", Detail: "bash 4.4.20-3.el8 (vendor Red Hat, Inc., s390x)"},
			},
		},
		{
			"sle15-bci/Packages.db", "usr/lib/sysimage/rpm/Packages.db", 35,
			[]detect.Observation{
				{Name: "rpm-ndb", Version: "4.14.3-40.1", Vendor: "SUSE LLC <https://www.suse.com/>", Packager: "https://www.suse.com/", Detail: "rpm-ndb 4.14.3-40.1 (vendor SUSE LLC <https://www.suse.com/>, x86_64)"},
			},
		},
		{"sle15-bci/Packages.db", "var/lib/rpm/Packages.db", 35, nil},
		{
			"fedora35/rpmdb.sqlite", "var/lib/rpm/rpmdb.sqlite", 138,
			[]detect.Observation{
				{Name: "libgcc", Version: "11.2.1-1.fc35", Vendor: "Fedora Project", Packager: "Fedora Project", Detail: "libgcc 11.2.1-1.fc35 (vendor Fedora Project, x86_64)"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.sample+"@"+tc.at, func(t *testing.T) {
			obs, err := collect(t, newRoot(t, map[string]string{tc.at: sample(t, tc.sample)}))
			if err != nil {
				t.Fatal(err)
			}
			if len(obs) != tc.count {
				t.Errorf("got %d packages, want %d", len(obs), tc.count)
			}
			for _, o := range obs {
				if o.Kind != detect.KindPackage || o.Status != detect.Installed || o.Location != tc.at || o.Name == "" || o.Version == "" {
					t.Errorf("bad observation %+v", o)
				}
			}
			for _, w := range tc.want {
				w.Kind, w.Status, w.Location = detect.KindPackage, detect.Installed, tc.at
				if o, ok := findObs(obs, w.Name); !ok || o != w {
					t.Errorf("%s:\n got %+v\nwant %+v", w.Name, o, w)
				}
			}
		})
	}
}

// allSamples lists every database among go-rpmdb's samples.
func allSamples(t *testing.T) []string {
	t.Helper()
	var rels []string
	for _, pat := range []string{"*/Packages", "*/Packages.db", "*/rpmdb.sqlite"} {
		m, err := filepath.Glob(filepath.Join(samples(t), pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(samples(t), p)
			rels = append(rels, filepath.ToSlash(rel))
		}
	}
	slices.Sort(rels)
	if len(rels) < 16 {
		t.Fatalf("found only %d sample databases: %v", len(rels), rels)
	}
	return rels
}

// TestSamplesMatchRPM compares every Berkeley DB and sqlite sample with
// what rpm itself reads from it: name, epoch, version, release, vendor,
// packager and arch of every package. (Debian's rpm reads Berkeley DB
// through its read-only bdb_ro backend; it cannot read ndb at all.)
func TestSamplesMatchRPM(t *testing.T) {
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Fatal("rpm not found: CI must install the rpm tools (apt-get install -y --no-install-recommends rpm)")
	}
	const qf = `%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{PACKAGER}\n`
	for _, rel := range allSamples(t) {
		if strings.HasSuffix(rel, ".db") {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			dir := t.TempDir() // rpm may write beside the database: give it a copy
			copyTo(t, sample(t, rel), filepath.Join(dir, filepath.Base(rel)))
			args := []string{"--dbpath", dir, "-qa", "--qf", qf}
			if filepath.Base(rel) == "Packages" {
				args = append([]string{"--define", "_db_backend bdb_ro"}, args...)
			}
			cmd := exec.Command("rpm", args...)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("rpm %v: %v", args, err)
			}
			var want []string
			for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
				f := strings.Split(strings.ReplaceAll(line, "(none)", ""), "\t")
				if len(f) != 7 {
					t.Fatalf("rpm printed %q", line)
				}
				epoch, err := strconv.Atoi(f[1])
				if err != nil {
					t.Fatalf("rpm printed %q", line)
				}
				p := rpmdb.Package{Name: f[0], Epoch: epoch, Version: f[2], Release: f[3], Arch: f[4], Vendor: f[5], Packager: f[6]}
				want = append(want, strings.Join([]string{p.Name, p.EVR(), p.Vendor, p.Packager, p.Detail()}, "|"))
			}
			var got []string
			for _, o := range readSample(t, rel) {
				got = append(got, strings.Join([]string{o.Name, o.Version, o.Vendor, o.Packager, o.Detail}, "|"))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("the source and rpm differ:\n-rpm\n+source\n%s", lineDiff(want, got))
			}
		})
	}
}

// lineDiff lists the lines only in a (-) and only in b (+); both sorted.
func lineDiff(a, b []string) string {
	var s strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			fmt.Fprintf(&s, "-%s\n", a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			fmt.Fprintf(&s, "+%s\n", b[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	return s.String()
}

// TestSamplesMatchRecorded compares every sample listed in go-rpmdb's
// TestPackageList, ndb included, in database order, with the package
// lists its authors recorded with rpm -qa on the original systems
// (pkg/rpmdb_testcase_test.go): name, epoch, version, release, arch and
// vendor. It is the only check of ndb against rpm's own reading.
func TestSamplesMatchRecorded(t *testing.T) {
	pkgDir := filepath.Dir(samples(t))
	fset := token.NewFileSet()
	parse := func(name string) *ast.File {
		f, err := parser.ParseFile(fset, filepath.Join(pkgDir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}

	// The lists: Name = func() []*PackageInfo { pkgs := []*commonPackageInfo{{intRef(…), "name", "version", "release", "arch", …, "vendor", …}, …} … }
	lists := map[string][]string{}
	ast.Inspect(parse("rpmdb_testcase_test.go"), func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 {
			return true
		}
		var rows []string
		ast.Inspect(vs.Values[0], func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok || len(cl.Elts) != 12 {
				return true
			}
			call, ok := cl.Elts[0].(*ast.CallExpr)
			if !ok {
				return true
			}
			p := rpmdb.Package{}
			if len(call.Args) == 1 {
				p.Epoch, _ = strconv.Atoi(call.Args[0].(*ast.BasicLit).Value)
			}
			s := func(i int) string {
				v, err := strconv.Unquote(cl.Elts[i].(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			p.Name, p.Version, p.Release, p.Arch, p.Vendor = s(1), s(2), s(3), s(4), s(8)
			rows = append(rows, strings.Join([]string{p.Name, p.EVR(), p.Vendor, p.Detail()}, "|"))
			return false
		})
		if len(rows) > 0 {
			lists[vs.Names[0].Name] = rows
		}
		return false
	})

	// The table: {name: …, file: "testdata/centos5-plain/Packages", pkgList: CentOS5Plain()}
	cases := map[string]string{}
	ast.Inspect(parse("rpmdb_test.go"), func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if ok && fn.Name.Name != "TestPackageList" {
			return false
		}
		cl, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var file, list string
		for _, e := range cl.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch k := kv.Key.(*ast.Ident).Name; {
			case k == "file":
				file, _ = strconv.Unquote(kv.Value.(*ast.BasicLit).Value)
			case k == "pkgList":
				if c, ok := kv.Value.(*ast.CallExpr); ok {
					list = c.Fun.(*ast.Ident).Name
				}
			}
		}
		if file != "" && list != "" {
			cases[strings.TrimPrefix(file, "testdata/")] = list
		}
		return true
	})
	if len(cases) < 14 {
		t.Fatalf("found %d cases in go-rpmdb's TestPackageList: %v", len(cases), cases)
	}

	formats := map[string]bool{}
	for rel, list := range cases {
		t.Run(rel, func(t *testing.T) {
			want, ok := lists[list]
			if !ok {
				t.Fatalf("no list %s", list)
			}
			var got []string
			for _, o := range readSample(t, rel) {
				got = append(got, strings.Join([]string{o.Name, o.Version, o.Vendor, o.Detail}, "|"))
			}
			if len(want) < len(got) {
				// Some lists were cut short (centos6-many records 44 of its
				// 326 packages); go-rpmdb compares only that many.
				t.Logf("the recorded list has the first %d of %d packages", len(want), len(got))
				got = got[:len(want)]
			}
			if !slices.Equal(got, want) {
				a, b := slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
				if slices.Equal(a, b) {
					t.Errorf("same packages as recorded, in another order")
				} else {
					t.Errorf("the source and the recorded list differ:\n-recorded\n+source\n%s", lineDiff(a, b))
				}
			}
			formats[filepath.Base(rel)] = true
		})
	}
	for _, f := range []string{"Packages", "Packages.db", "rpmdb.sqlite"} {
		if !formats[f] {
			t.Errorf("no recorded list was checked for a %s", f)
		}
	}
}
