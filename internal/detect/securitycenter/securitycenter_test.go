package securitycenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

// recorded is a Querier answering with a recording from testdata.
type recorded struct {
	products []Product
	err      error
}

func (r recorded) AntiVirusProducts(context.Context) ([]Product, error) { return r.products, r.err }

// load reads a recording: ConvertTo-Json output of AntiVirusProduct rows.
func load(t *testing.T, name string) []Product {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		DisplayName              string `json:"displayName"`
		InstanceGUID             string `json:"instanceGuid"`
		PathToSignedProductExe   string `json:"pathToSignedProductExe"`
		PathToSignedReportingExe string `json:"pathToSignedReportingExe"`
		ProductState             uint32 `json:"productState"`
		Timestamp                string `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := make([]Product, len(rows))
	for i, r := range rows {
		out[i] = Product(r)
	}
	return out
}

// liveHost is a live Windows host whose system drive holds files.
func liveHost(t *testing.T, files ...string) *host.Host {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("MZ"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := host.OpenRoot(dir, host.Windows)
	if err != nil {
		t.Fatal(err)
	}
	h.Live = true
	return h
}

func collect(t *testing.T, s *Source, h *host.Host) ([]detect.Observation, error) {
	t.Helper()
	var out []detect.Observation
	err := s.Collect(context.Background(), h, func(o detect.Observation) { out = append(out, o) })
	return out, err
}

const (
	defenderGUID = "{D68DDC3A-831F-4fae-9E44-DA132C1ACF46}"
	defenderLoc  = `root\SecurityCenter2\AntiVirusProduct.instanceGuid="{D68DDC3A-831F-4fae-9E44-DA132C1ACF46}"`
	kesGUID      = "{3A5C6F1E-9C0B-4D1F-8E6A-2B7D4C9E0F11}"
	kesLoc       = `root\SecurityCenter2\AntiVirusProduct.instanceGuid="{3A5C6F1E-9C0B-4D1F-8E6A-2B7D4C9E0F11}"`
	kesDir       = `C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0`
)

func TestCollectRecorded(t *testing.T) {
	files := []string{
		"Program Files/Windows Defender/MsMpEng.exe",
		"Program Files (x86)/Kaspersky Lab/Kaspersky Internet Security 21.3/avp.exe",
		"Program Files (x86)/Kaspersky Lab/KES.12.3.0/avp.exe",
		"Program Files (x86)/Kaspersky Lab/Kaspersky Anti-Virus 21.3/avp.exe",
	}
	defender := func(state uint32, status detect.Status, what, ts string) detect.Observation {
		return detect.Observation{
			Kind: detect.KindApp, Status: status, Name: defenderGUID, Display: "Windows Defender",
			Path: `C:\Program Files\Windows Defender`, Location: defenderLoc,
			Detail: fmt.Sprintf("Windows Defender: %s (productState %#06x), last reported %s", what, state, ts),
		}
	}
	tests := []struct {
		file string
		want []detect.Observation
	}{
		{"win11-defender.json", []detect.Observation{
			defender(397568, detect.Running, "enabled, definitions up to date", "Fri, 21 May 2021 13:08:38 GMT"),
		}},
		{"win10-kis.json", []detect.Observation{
			defender(393472, detect.Installed, "disabled, definitions up to date", "Mon, 03 Jun 2024 08:12:55 GMT"),
			{
				Kind: detect.KindApp, Status: detect.Running, Name: "{B41C7598-35F6-4D89-7D0E-7ADE69B4047B}",
				Display:  "Kaspersky Internet Security",
				Path:     `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Internet Security 21.3`,
				Location: `root\SecurityCenter2\AntiVirusProduct.instanceGuid="{B41C7598-35F6-4D89-7D0E-7ADE69B4047B}"`,
				Detail:   "Kaspersky Internet Security: enabled, definitions up to date (productState 0x061000), last reported Mon, 03 Jun 2024 08:13:02 GMT",
			},
		}},
		{"win10-kes.json", []detect.Observation{{
			Kind: detect.KindApp, Status: detect.Running, Name: kesGUID, Display: "Kaspersky Endpoint Security for Windows",
			Path: kesDir, Location: kesLoc,
			Detail: "Kaspersky Endpoint Security for Windows: enabled, definitions up to date (productState 0x041000), last reported Thu, 19 Sep 2024 06:30:00 GMT",
		}}},
		{"win10-kes-outdated.json", []detect.Observation{{
			Kind: detect.KindApp, Status: detect.Running, Name: kesGUID, Display: "Kaspersky Endpoint Security for Windows",
			Path: kesDir, Location: kesLoc,
			Detail: "Kaspersky Endpoint Security for Windows: enabled, definitions out of date (productState 0x041010), last reported Tue, 15 Oct 2024 09:00:00 GMT",
		}}},
		{"win10-kav-off.json", []detect.Observation{{
			Kind: detect.KindApp, Status: detect.Installed, Name: "{9E4C2D7A-1B3F-4A6E-A0C5-77D2E8B1F3A4}", Display: "Kaspersky Anti-Virus",
			Path:     `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Anti-Virus 21.3`,
			Location: `root\SecurityCenter2\AntiVirusProduct.instanceGuid="{9E4C2D7A-1B3F-4A6E-A0C5-77D2E8B1F3A4}"`,
			Detail:   "Kaspersky Anti-Virus: disabled, definitions up to date (productState 0x040000), last reported Sat, 28 Sep 2024 22:41:17 GMT",
		}}},
		{"win10-ultraav-stale.json", []detect.Observation{
			{
				Kind: detect.KindApp, Status: detect.Present, Name: "{5F0E8B21-6C4A-4E2D-9B7F-13A8C6D2E490}", Display: "UltraAV",
				Path:     `C:\Program Files\UltraAV`,
				Location: `root\SecurityCenter2\AntiVirusProduct.instanceGuid="{5F0E8B21-6C4A-4E2D-9B7F-13A8C6D2E490}"`,
				Detail: "UltraAV: enabled, definitions up to date (productState 0x041000), last reported Fri, 20 Sep 2024 14:05:11 GMT; " +
					`C:\Program Files\UltraAV\UltraAV.exe is missing: a stale registration`,
			},
			defender(397568, detect.Running, "enabled, definitions up to date", "Mon, 11 Nov 2024 10:20:30 GMT"),
		}},
	}
	h := liveHost(t, files...)
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(strings.ReplaceAll(tc.file, "-", "_"), ".json"), func(t *testing.T) {
			got, err := collect(t, New(recorded{products: load(t, tc.file)}), h)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d observations, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("observation %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		state     uint32
		providers uint8
		scanner   Scanner
		microsoft bool
		upToDate  bool
		text      string
	}{
		{397568, 0x06, ScannerOn, true, true, "enabled, definitions up to date"},      // Defender
		{397312, 0x06, ScannerOn, false, true, "enabled, definitions up to date"},     // Kaspersky Internet Security
		{266240, 0x04, ScannerOn, false, true, "enabled, definitions up to date"},     // KES
		{266256, 0x04, ScannerOn, false, false, "enabled, definitions out of date"},   // out of date
		{262144, 0x04, ScannerOff, false, true, "disabled, definitions up to date"},   // off
		{393472, 0x06, ScannerOff, true, true, "disabled, definitions up to date"},    // Defender, passive
		{401664, 0x06, ScannerSnoozed, true, true, "snoozed, definitions up to date"}, // 0x062100
		{0x043010, 0x04, ScannerExpired, false, false, "expired, definitions out of date"},
		{0x045000, 0x04, Scanner(5), false, true, "scanner state 0x5, definitions up to date"},
		{0x041020, 0x04, ScannerOn, false, false, "enabled, definitions state 0x20"},
		{0, 0, ScannerOff, false, true, "disabled, definitions up to date"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%#06x", tc.state), func(t *testing.T) {
			s := Decode(tc.state)
			if s.Raw != tc.state || s.Providers != tc.providers || s.Scanner != tc.scanner || s.Microsoft != tc.microsoft || s.UpToDate() != tc.upToDate {
				t.Errorf("Decode = %+v", s)
			}
			if s.Enabled() != (tc.scanner == ScannerOn) {
				t.Errorf("Enabled = %v", s.Enabled())
			}
			if s.String() != tc.text {
				t.Errorf("String = %q, want %q", s.String(), tc.text)
			}
		})
	}
}

func TestObserveOddRows(t *testing.T) {
	h := liveHost(t)
	for _, tc := range []struct {
		name string
		p    Product
		ok   bool
		path string
	}{
		{"nothing", Product{}, false, ""},
		{"name_only", Product{DisplayName: "Some AV", ProductState: 266240}, true, ""},
		{"uri_only", Product{DisplayName: "Some AV", PathToSignedProductExe: "someav://"}, true, ""},
		{"unknown_variable", Product{DisplayName: "Some AV", PathToSignedProductExe: `%LOCALAPPDATA%\AV\av.exe`}, true, ""},
		{"quoted", Product{DisplayName: "Some AV", PathToSignedProductExe: `"C:\AV\av.exe"`}, true, `C:\AV`},
		{"folder_not_file", Product{DisplayName: "Some AV", PathToSignedProductExe: `C:\AV\`}, true, ""},
		{"other_drive_not_checked", Product{DisplayName: "Some AV", PathToSignedProductExe: `D:\AV\av.exe`}, true, `D:\AV`},
		{"control_characters", Product{DisplayName: "Some\nAV\x00", PathToSignedReportingExe: `%ProgramData%\AV\r.exe`}, true, `C:\ProgramData\AV`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := Observe(h, tc.p)
			if ok != tc.ok || o.Path != tc.path {
				t.Errorf("got %+v, %v; want ok %v, path %q", o, ok, tc.ok, tc.path)
			}
			if strings.ContainsAny(o.Display+o.Detail, "\n\x00") {
				t.Errorf("control characters kept: %q", o.Detail)
			}
		})
	}
	// The missing check looks only at the root's own drive.
	if o, _ := Observe(h, Product{DisplayName: "X", PathToSignedProductExe: `D:\AV\av.exe`}); o.Status == detect.Present {
		t.Errorf("a file on another drive was called missing: %+v", o)
	}
}

func TestCollectUnavailable(t *testing.T) {
	live := liveHost(t)
	server := recorded{err: fmt.Errorf("root\\SecurityCenter2 does not exist (a server edition): %w", detect.ErrUnavailable)}
	for _, tc := range []struct {
		name string
		s    *Source
		h    *host.Host
	}{
		{"no_querier", New(nil), live},
		{"windows_server", New(server), live},
		{"live_stub", NewLive().(*Source), live},
	} {
		if tc.name == "live_stub" && runtime.GOOS == "windows" {
			continue // the stub is for the other systems
		}
		t.Run(tc.name, func(t *testing.T) {
			out, err := collect(t, tc.s, tc.h)
			if !errors.Is(err, detect.ErrUnavailable) || len(out) != 0 {
				t.Errorf("got %v, %v; want unavailable", out, err)
			}
		})
	}
}

func TestCollectErrors(t *testing.T) {
	h := liveHost(t)
	boom := errors.New("wmi: RPC server unavailable")
	out, err := collect(t, New(recorded{products: load(t, "win11-defender.json"), err: boom}), h)
	if !errors.Is(err, boom) || len(out) != 1 {
		t.Errorf("partial result: %v, %v", out, err)
	}

	panicky := New(querierFunc(func(context.Context) ([]Product, error) { panic("COM exploded") }))
	if _, err := collect(t, panicky, h); err == nil || !strings.Contains(err.Error(), "COM exploded") {
		t.Errorf("panic: %v", err)
	}
}

// A querier that never answers and ignores its context costs the scan the
// source's timeout, no more.
func TestCollectTimeout(t *testing.T) {
	h := liveHost(t)
	block := make(chan struct{})
	defer close(block)
	s := New(querierFunc(func(context.Context) ([]Product, error) {
		<-block
		return nil, nil
	}))
	s.Timeout = 50 * time.Millisecond
	start := time.Now()
	_, err := collect(t, s, h)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("waited %v", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from root\\SecurityCenter2 within 50ms") {
		t.Errorf("err %v", err)
	}

	// Through the runner: the source fails on its own timeout, well before
	// the runner's, and the scan goes on.
	r := detect.Runner{Sources: []detect.Source{s}, Timeout: 10 * time.Second}
	_, results := r.Run(context.Background(), h)
	if results[0].Status != detect.StatusError || results[0].Duration > 2*time.Second {
		t.Errorf("runner result %+v", results[0])
	}
}

func TestCollectCanceled(t *testing.T) {
	h := liveHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := New(querierFunc(func(ctx context.Context) ([]Product, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	err := s.Collect(ctx, h, func(detect.Observation) {})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

type querierFunc func(context.Context) ([]Product, error)

func (f querierFunc) AntiVirusProducts(ctx context.Context) ([]Product, error) { return f(ctx) }

// oleError and excepInfo mimic go-ole's OleError and EXCEPINFO, whose
// methods isInvalidNamespace relies on.
type oleError struct {
	hr  uintptr
	sub error
}

func (e *oleError) Error() string   { return fmt.Sprintf("Exception occurred. (%#x)", e.hr) }
func (e *oleError) Code() uintptr   { return e.hr }
func (e *oleError) SubError() error { return e.sub }

type excepInfo struct{ scode uint32 }

func (e excepInfo) Error() string { return "SWbemLocator: " }
func (e excepInfo) SCODE() uint32 { return e.scode }

func TestIsInvalidNamespace(t *testing.T) {
	const dispException = 0x80020009
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"hresult", &oleError{hr: wbemEInvalidNamespace}, true},
		{"excepinfo_scode", &oleError{hr: dispException, sub: excepInfo{scode: wbemEInvalidNamespace}}, true},
		{"wrapped", fmt.Errorf("connect: %w", &oleError{hr: dispException, sub: excepInfo{scode: wbemEInvalidNamespace}}), true},
		{"message", errors.New("SWbemLocator: Invalid namespace "), true},
		{"other_scode", &oleError{hr: dispException, sub: excepInfo{scode: 0x80041003}}, false},
		{"type_mismatch", &oleError{hr: 0x80020005}, false},
		{"self_loop", loopErr{}, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isInvalidNamespace(tc.err); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// loopErr is its own sub-error.
type loopErr struct{}

func (loopErr) Error() string     { return "loop" }
func (l loopErr) SubError() error { return l }

func TestPlainPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`%ProgramFiles%\Kaspersky Lab\KES\avp.exe`, `C:\Program Files\Kaspersky Lab\KES\avp.exe`},
		{`%programfiles(x86)%\Vendor\x.exe`, `C:\Program Files (x86)\Vendor\x.exe`},
		{`"D:\Tools\AV\scan.exe"`, `D:\Tools\AV\scan.exe`},
		{`%SystemDrive%\AV\scan.exe`, `C:\AV\scan.exe`},
		{`windowsdefender://`, ``},
		{`%UnknownVar%\x.exe`, ``},
		{`C:\Program Files\Vendor\`, ``},
		{`relative\x.exe`, ``},
		{`C:`, ``},
		{``, ``},
	} {
		if got := plainPath(tc.in, "C:"); got != tc.want {
			t.Errorf("plainPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
