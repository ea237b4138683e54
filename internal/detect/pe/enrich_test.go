package pe

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/pe/petest"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report/enum"
)

// fakeTrust trusts the files whose paths end in one of its keys and
// records what it was asked.
type fakeTrust struct {
	mu      sync.Mutex
	asked   []string
	trusted map[string]bool
}

func (f *fakeTrust) CheckTrust(path string) Verdict {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, filepath.Base(path))
	for suffix := range f.trusted {
		if strings.HasSuffix(filepath.ToSlash(path), suffix) {
			return Verdict{Checked: true, Trusted: true}
		}
	}
	return Verdict{Checked: true, Reason: "untrusted root"}
}

// winRoot lays out a Windows system drive in a temporary directory.
type winRoot struct {
	dir   string
	files map[string][]byte // slash path → content; a nil content makes a directory
}

func (w winRoot) build(t *testing.T) *host.Host {
	t.Helper()
	for p, b := range w.files {
		full := filepath.Join(w.dir, filepath.FromSlash(p))
		if b == nil {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		write(t, full, b)
	}
	h, err := host.OpenRoot(w.dir, host.Windows)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// enrichFixture is a Windows root with the executables a KES host, a
// white-labelled build and a few broken cases point at.
type enrichFixture struct {
	host *host.Host
}

func acmeVersion() []byte {
	return petest.VersionInfo("4.2.0.0", "4.2.0.0", english([2]string{"CompanyName", "Acme Corp"},
		[2]string{"ProductName", "Acme Total Security"}, [2]string{"ProductVersion", "4.2"}))
}

func newEnrichFixture(t *testing.T) enrichFixture {
	t.Helper()
	keys := t.TempDir()
	kaspersky := newSigner(t, keys, "kaspersky", kasperskyRDNs(), "rsa")
	other := newSigner(t, keys, "other", otherRDNs(), "ecdsa")
	text := bytes.Repeat([]byte{0xcc}, synthTextLength)
	avp := petest.SignWith(t, buildPE(t, text, kesVersion(), false), kaspersky, "sha256", false)
	driverVersion := petest.VersionInfo("12.3.0.493", "12.3.0.493", english([2]string{"CompanyName", "AO Kaspersky Lab"},
		[2]string{"FileDescription", "Kaspersky Lab Interceptor"}, [2]string{"ProductName", "Kaspersky Lab Interceptor"}))
	klif := petest.SignWith(t, buildPE(t, text, driverVersion, false), kaspersky, "sha256", false)
	acme := petest.SignWith(t, buildPE(t, text, acmeVersion(), false), kaspersky, "sha256", false)
	otherExe := petest.SignWith(t, buildPE(t, text, nil, false), other, "sha256", false)
	tampered := bytes.Clone(avp)
	tampered[0x500] ^= 1
	w := winRoot{dir: t.TempDir(), files: map[string][]byte{
		"Program Files (x86)/Kaspersky Lab/KES.12.3.0/avp.exe": avp,
		"Windows/System32/drivers/klif.sys":                    klif,
		"Program Files/Acme Security/engine/acmeengine.exe":    acme,
		"Program Files/Other Vendor/other.exe":                 otherExe,
		"Program Files/Tampered/avp.exe":                       tampered,
		"Program Files/Unsigned/plain.exe":                     buildPE(t, text, acmeVersion(), false),
		"Program Files/Bare/bare.exe":                          buildPE(t, text, nil, false),
		"Program Files/Script/notpe.exe":                       []byte("@echo off\r\n"),
		"Program Files/Odd/folder.exe":                         nil,
	}}
	return enrichFixture{host: w.build(t)}
}

func (f enrichFixture) observations() []detect.Observation {
	return []detect.Observation{
		{Kind: detect.KindProcess, Status: detect.Running, Name: "avp.exe", Path: `C:\PROGRAM FILES (X86)\kaspersky lab\KES.12.3.0\AVP.EXE`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "AVP.KES.12.3.0", Path: `"C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe" -r`},
		{Kind: detect.KindDriver, Status: detect.Installed, Name: "klif", Path: `\SystemRoot\System32\drivers\klif.sys`},
		{Kind: detect.KindApp, Status: detect.Installed, Display: "Acme Total Security", Vendor: "Acme Corp", Path: `C:\Program Files\Acme Security`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "AcmeSvc", Path: `"C:\Program Files\Acme Security\engine\acmeengine.exe" /service`},
		{Kind: detect.KindProcess, Status: detect.Running, Name: "other.exe", Path: `C:\Program Files\Other Vendor\other.exe`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "Tampered", Path: `C:\Program Files\Tampered\avp.exe`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "Plain", Path: `C:\Program Files\Unsigned\plain.exe`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "Bare", Path: `C:\Program Files\Bare\bare.exe`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "Script", Path: `C:\Program Files\Script\notpe.exe`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "Gone", Path: `C:\Program Files\Gone\gone.exe -x`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "Odd", Path: `C:\Program Files\Odd\folder.exe`},
		{Kind: detect.KindService, Status: detect.Installed, Name: "Unexpanded", Path: `%UnknownDir%\x.exe`},
		{Kind: detect.KindKey, Status: detect.Present, Path: `HKLM\SOFTWARE\KasperskyLab`},
	}
}

func enrich(t *testing.T, e *Enricher, h *host.Host, obs []detect.Observation) ([]detect.Observation, error) {
	t.Helper()
	var out []detect.Observation
	err := e.Enrich(context.Background(), h, obs, func(o detect.Observation) { out = append(out, o) })
	return out, err
}

func TestEnrich(t *testing.T) {
	f := newEnrichFixture(t)
	trust := &fakeTrust{trusted: map[string]bool{"KES.12.3.0/avp.exe": true, "drivers/klif.sys": true}}
	out, err := enrich(t, &Enricher{Trust: trust}, f.host, f.observations())

	want := []detect.Observation{
		{
			Kind: detect.KindSigner, Status: detect.Running, Name: "avp.exe",
			Path:     `C:\PROGRAM FILES (X86)\kaspersky lab\KES.12.3.0\AVP.EXE`,
			Location: "Program Files (x86)/Kaspersky Lab/KES.12.3.0/avp.exe",
			Signer:   kasperskyDN, Vendor: "AO Kaspersky Lab", Display: "Kaspersky Endpoint Security for Windows", Version: "12.3.0.493",
			Detail: `avp.exe signed by "AO Kaspersky Lab" (sha256, digest ok, chain trusted by Windows); CompanyName "AO Kaspersky Lab", ` +
				`ProductName "Kaspersky Endpoint Security for Windows", OriginalFilename "avp.exe", ProductVersion "12.3.0.493"`,
		},
		{
			Kind: detect.KindSigner, Status: detect.Installed, Name: "klif.sys",
			Path: `C:\Windows\System32\drivers\klif.sys`, Location: "Windows/System32/drivers/klif.sys",
			Signer: kasperskyDN, Vendor: "AO Kaspersky Lab", Display: "Kaspersky Lab Interceptor", Version: "12.3.0.493",
			Detail: `klif.sys signed by "AO Kaspersky Lab" (sha256, digest ok, chain trusted by Windows); CompanyName "AO Kaspersky Lab", ` +
				`ProductName "Kaspersky Lab Interceptor", ProductVersion "12.3.0.493"`,
		},
		{
			Kind: detect.KindSigner, Status: detect.Installed, Name: "acmeengine.exe",
			Path: `C:\Program Files\Acme Security\engine\acmeengine.exe`, Location: "Program Files/Acme Security/engine/acmeengine.exe",
			Signer: kasperskyDN, Vendor: "Acme Corp", Display: "Acme Total Security", Version: "4.2",
			Detail: `acmeengine.exe signed by "AO Kaspersky Lab" (sha256, digest ok, chain not trusted by Windows: untrusted root); ` +
				`CompanyName "Acme Corp", ProductName "Acme Total Security", ProductVersion "4.2"`,
		},
		{
			Kind: detect.KindSigner, Status: detect.Running, Name: "other.exe",
			Path: `C:\Program Files\Other Vendor\other.exe`, Location: "Program Files/Other Vendor/other.exe",
			Signer: otherDN,
			Detail: `other.exe signed by "Other Vendor, Inc." (sha256, digest ok, chain not trusted by Windows: untrusted root)`,
		},
		{
			Kind: detect.KindSigner, Status: detect.Installed, Name: "avp.exe",
			Path: `C:\Program Files\Tampered\avp.exe`, Location: "Program Files/Tampered/avp.exe",
			Vendor: "AO Kaspersky Lab", Display: "Kaspersky Endpoint Security for Windows", Version: "12.3.0.493",
			Detail: `avp.exe: signature by "AO Kaspersky Lab" does not match the file (digest mismatch: changed after signing, or copied from another file); ` +
				`chain not trusted by Windows: untrusted root; CompanyName "AO Kaspersky Lab", ProductName "Kaspersky Endpoint Security for Windows", ` +
				`OriginalFilename "avp.exe", ProductVersion "12.3.0.493"`,
		},
		{
			Kind: detect.KindSigner, Status: detect.Installed, Name: "plain.exe",
			Path: `C:\Program Files\Unsigned\plain.exe`, Location: "Program Files/Unsigned/plain.exe",
			Vendor: "Acme Corp", Display: "Acme Total Security", Version: "4.2",
			Detail: `plain.exe: no embedded signature; CompanyName "Acme Corp", ProductName "Acme Total Security", ProductVersion "4.2"`,
		},
		{
			// A file that names no maker says so: a vendor's key alone
			// does not make it the vendor's.
			Kind: detect.KindSigner, Status: detect.Installed, Name: "bare.exe",
			Path: `C:\Program Files\Bare\bare.exe`, Location: "Program Files/Bare/bare.exe",
			Detail:  "bare.exe: no version resource, no embedded signature",
			NoMaker: true,
		},
	}
	if len(out) != len(want) {
		for _, o := range out {
			t.Logf("got %+v", o)
		}
		t.Fatalf("got %d observations, want %d", len(out), len(want))
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("observation %d:\n got %+v\nwant %+v", i, out[i], want[i])
		}
	}

	var skip *SkipError
	if !errors.As(err, &skip) {
		t.Fatalf("err %v, want a *SkipError", err)
	}
	if !detect.IsWarning(err) {
		t.Errorf("files not examined failed the enricher: %v; want a warning (one file each)", err)
	}
	// A missing file is residue the services source reports, not a
	// failure to examine: it is not counted.
	if skip.Skipped != 3 || skip.Total != 11 {
		t.Errorf("skipped %d of %d, want 3 of 11: %v", skip.Skipped, skip.Total, err)
	}
	if errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrNotPE) {
		t.Errorf("err does not unwrap to its causes (and only those): %v", err)
	}
	if strings.Contains(err.Error(), "missing") {
		t.Errorf("error %q counts a missing file", err)
	}
	for _, s := range []string{"1 with a path that cannot be looked up", `1 not a PE file (C:\Program Files\Script\notpe.exe)`, `1 not a regular file (C:\Program Files\Odd\folder.exe)`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	// Each signed file is asked about once; unsigned ones never.
	if len(trust.asked) != 5 {
		t.Errorf("trust asked about %v, want the 5 signed files once each", trust.asked)
	}
}

// TestEnrichFindsWhiteLabel runs the enricher's output through the real
// catalog: a product presenting its own brand, whose engine is signed by
// Kaspersky, is reported as a restricted white-label build, which no name
// in the catalog would have shown.
func TestEnrichFindsWhiteLabel(t *testing.T) {
	f := newEnrichFixture(t)
	obs := f.observations()
	var acme []detect.Observation
	for _, o := range obs {
		if strings.Contains(o.Path, "Acme") {
			acme = append(acme, o)
		}
	}
	enriched, _ := enrich(t, &Enricher{}, f.host, acme)
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	without := catalog.Match(cat, "windows", acme)
	for _, fd := range without {
		if fd.Restricted {
			t.Fatalf("the fixture is found without the signer; the test proves nothing: %+v", fd)
		}
	}
	findings := catalog.Match(cat, "windows", append(acme, enriched...))
	var found bool
	for _, fd := range findings {
		if fd.Name == "Acme Total Security" {
			found = true
			if !fd.WhiteLabel || !fd.Restricted || fd.Technology != "Kaspersky" || fd.Confidence != enum.ConfidenceHigh {
				t.Errorf("finding %+v", fd)
			}
		}
	}
	if !found {
		t.Errorf("no Acme finding: %+v", findings)
	}
}

func TestEnrichUnavailable(t *testing.T) {
	e := New()
	for _, h := range []*host.Host{{OS: host.Linux, FS: os.DirFS(t.TempDir())}, {OS: host.Windows}} {
		if err := e.Enrich(context.Background(), h, nil, func(detect.Observation) {}); !errors.Is(err, detect.ErrUnavailable) {
			t.Errorf("%s: err %v, want ErrUnavailable", h.OS, err)
		}
	}
}

func TestEnrichNothingToDo(t *testing.T) {
	h := winRoot{dir: t.TempDir()}.build(t)
	out, err := enrich(t, &Enricher{}, h, []detect.Observation{{Kind: detect.KindApp, Path: `C:\Program Files\X`}})
	if err != nil || len(out) != 0 {
		t.Errorf("got %v, %v", out, err)
	}
}

func TestEnrichCanceled(t *testing.T) {
	f := newEnrichFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := (&Enricher{}).Enrich(ctx, f.host, f.observations(), func(detect.Observation) {})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// The runner gives the enricher what the sources kept and records it as
// one more result.
func TestEnrichInRunner(t *testing.T) {
	f := newEnrichFixture(t)
	src := sourceFunc(func(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
		for _, o := range f.observations()[:3] {
			emit(o)
		}
		return nil
	})
	r := detect.Runner{Sources: []detect.Source{src}, Enrichers: []detect.Enricher{New()}}
	obs, results := r.Run(context.Background(), f.host)
	if len(results) != 2 || results[1].Name != "pe" || results[1].Status != detect.StatusOK || results[1].Items != 2 {
		t.Fatalf("results %+v", results)
	}
	if n := len(obs); n != 5 || obs[3].Source != "pe" || obs[3].Signer != kasperskyDN {
		t.Errorf("observations %+v", obs)
	}
}

// TestEnrichProgramFiles: on a mounted Windows disk, whose services and
// processes are not read, the paths source reports the programs and
// drivers it found in program folders; the enricher reads their version
// resource and signer as it does for a service's image, so a file found
// by name alone gets its vendor evidence (or, signed by another company,
// its contradiction).
func TestEnrichProgramFiles(t *testing.T) {
	f := newEnrichFixture(t)
	obs := []detect.Observation{
		{Kind: detect.KindExecutable, Status: detect.Installed, Name: "avp.exe",
			Path: `C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe`, Location: "Program Files (x86)/Kaspersky Lab/KES.12.3.0/avp.exe"},
		{Kind: detect.KindDriver, Status: detect.Installed, Name: "klif",
			Path: `C:\Windows\System32\drivers\klif.sys`, Location: "Windows/System32/drivers/klif.sys"},
		// A file named like a catalogued program, signed by someone else.
		{Kind: detect.KindExecutable, Status: detect.Installed, Name: "other.exe",
			Path: `C:\Program Files\Other Vendor\other.exe`, Location: "Program Files/Other Vendor/other.exe"},
	}
	out, err := enrich(t, &Enricher{}, f.host, obs)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, path, signer, vendor string }{
		{"avp.exe", `C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe`, kasperskyDN, "AO Kaspersky Lab"},
		{"klif.sys", `C:\Windows\System32\drivers\klif.sys`, kasperskyDN, "AO Kaspersky Lab"},
		{"other.exe", `C:\Program Files\Other Vendor\other.exe`, otherDN, ""},
	}
	if len(out) != len(want) {
		t.Fatalf("got %d observations, want %d: %+v", len(out), len(want), out)
	}
	for i, w := range want {
		o := out[i]
		if o.Kind != detect.KindSigner || o.Status != detect.Installed || o.Name != w.name || o.Path != w.path || o.Signer != w.signer || o.Vendor != w.vendor {
			t.Errorf("observation %d: %+v\nwant %+v", i, o, w)
		}
	}
}

type sourceFunc func(context.Context, *host.Host, func(detect.Observation)) error

func (sourceFunc) Name() string { return "fake" }
func (f sourceFunc) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	return f(ctx, h, emit)
}
