// Package securitycenter is the "securitycenter" source: the antivirus products
// registered with Windows Security Center (WMI root\SecurityCenter2,
// class AntiVirusProduct), with their state decoded.
//
// Security Center is what Windows itself believes protects the machine: it
// names the product the user sees (a white-labelled build under its own
// brand), says whether real-time protection is on and whether definitions
// are current — which for Kaspersky matters, since its updates stopped in
// the US on 2024-09-29 — and it still lists products whose uninstaller
// left the registration behind. It is only a witness, though: Windows
// Server has no Security Center, Wine has no WMI, and stale entries
// outlive their product, so the source reports "unavailable" where it
// cannot run and checks the registered executable still exists.
//
// WMI sits behind the small [Querier] interface; the live one is in
// live_windows.go. Everything else, the productState decoding included,
// is plain Go tested on any OS with recorded rows. The package knows no
// vendor.
package securitycenter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/winpath"
)

// DefaultTimeout bounds the Security Center query: WMI can hang for tens
// of seconds on a sick machine and must never hold up the scan.
const DefaultTimeout = 5 * time.Second

// Product is one AntiVirusProduct instance, as WMI returns it.
type Product struct {
	DisplayName  string
	InstanceGUID string
	// PathToSignedProductExe and PathToSignedReportingExe are written as
	// the product registered them: a plain path, a path with environment
	// variables ("%ProgramFiles%\Windows Defender\MsMpeng.exe"), or a URI
	// (Defender's "windowsdefender://").
	PathToSignedProductExe   string
	PathToSignedReportingExe string
	ProductState             uint32
	// Timestamp is when the product last reported its state, as WMI
	// formats it ("Fri, 21 May 2021 13:08:38 GMT").
	Timestamp string
}

// Querier lists the antivirus products registered with Security Center.
// It returns an error wrapping [detect.ErrUnavailable] where there is no
// Security Center (Windows Server, Wine). It may ignore ctx: the source
// stops waiting for it at its timeout either way.
type Querier interface {
	AntiVirusProducts(ctx context.Context) ([]Product, error)
}

// Source reports the products a [Querier] lists.
type Source struct {
	// Querier is nil where the platform has no Security Center: the source
	// is then unavailable.
	Querier Querier
	// Timeout bounds the query; zero means [DefaultTimeout].
	Timeout time.Duration
}

// New returns the source reading q.
func New(q Querier) *Source { return &Source{Querier: q, Timeout: DefaultTimeout} }

// Name implements [detect.Source].
func (*Source) Name() string { return "securitycenter" }

// Collect implements [detect.Source]. It emits one [detect.KindApp]
// observation per registered product: Display is its display name, Path
// the folder of its executable, Status Running when real-time protection
// is on, Installed otherwise, and Present when the registered executable
// no longer exists (a stale registration). Security Center describes the
// running machine, so the source is unavailable for a root directory.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if s.Querier == nil {
		return fmt.Errorf("securitycenter: not on this platform: %w", detect.ErrUnavailable)
	}
	products, err := s.query(ctx)
	for _, p := range products {
		if o, ok := Observe(h, p); ok {
			emit(o)
		}
	}
	if err != nil {
		return fmt.Errorf("securitycenter: %w", err)
	}
	return nil
}

// query runs the querier in its own goroutine and gives up at the
// timeout, so a hung WMI call costs the scan nothing more. A panic in the
// querier (COM glue) is returned as an error.
func (s *Source) query(ctx context.Context) ([]Product, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		products []Product
		err      error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("query panicked: %v\n%s", p, debug.Stack())}
			}
			done <- r
		}()
		r.products, r.err = s.Querier.AntiVirusProducts(ctx)
	}()
	select {
	case r := <-done:
		return r.products, r.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer from root\\SecurityCenter2 within %s: %w", timeout, ctx.Err())
		}
		return nil, ctx.Err()
	}
}

// Observe describes one registered product on h. It returns false for a
// row with neither a name nor an executable.
func Observe(h *host.Host, p Product) (detect.Observation, bool) {
	name := clean(p.DisplayName)
	exe := executable(p, systemDrive(h))
	if name == "" && exe == "" {
		return detect.Observation{}, false
	}
	st := Decode(p.ProductState)
	o := detect.Observation{
		Kind:     detect.KindApp,
		Status:   detect.Installed,
		Name:     clean(p.InstanceGUID),
		Display:  name,
		Location: fmt.Sprintf(`root\SecurityCenter2\AntiVirusProduct.instanceGuid="%s"`, clean(p.InstanceGUID)),
	}
	if st.Enabled() {
		o.Status = detect.Running
	}
	if exe != "" {
		o.Path = exe[:strings.LastIndexByte(exe, '\\')]
	}
	var b strings.Builder
	if name != "" {
		b.WriteString(name + ": ")
	}
	fmt.Fprintf(&b, "%s (productState %#06x)", st, p.ProductState)
	if ts := clean(p.Timestamp); ts != "" {
		b.WriteString(", last reported " + ts)
	}
	if exe != "" && missing(h, exe) {
		o.Status = detect.Present
		fmt.Fprintf(&b, "; %s is missing: a stale registration", exe)
	}
	o.Detail = b.String()
	return o, true
}

// executable is the product's executable as a plain Windows path: the
// product exe, else the reporting exe (Defender registers a URI as its
// product exe); "" when neither is a path.
func executable(p Product, drive string) string {
	for _, s := range []string{p.PathToSignedProductExe, p.PathToSignedReportingExe} {
		if e := plainPath(clean(s), drive); e != "" {
			return e
		}
	}
	return ""
}

// plainPath expands the environment variables Security Center rows use
// (as Windows would, through internal/winpath) and returns an absolute path
// with a drive and a file name; "" for anything else, such as Defender's
// windowsdefender:// URI or a variable winpath does not know.
func plainPath(s, drive string) string {
	s = strings.Trim(s, `"`)
	if winpath.Drive(s) == "" && !strings.HasPrefix(s, "%") {
		return ""
	}
	p := winpath.Resolve(s, winpath.Env{SystemRoot: drive + `\Windows`})
	if winpath.Drive(p) == "" || len(p) < 4 || p[2] != '\\' || strings.ContainsAny(p[2:], "%\":") || strings.HasSuffix(p, `\`) {
		return ""
	}
	return p
}

// missing reports whether the executable is known not to exist on h. A
// path on another drive than the root's, or one that cannot be checked, is
// not missing.
func missing(h *host.Host, exe string) bool {
	if h.FS == nil || !strings.EqualFold(exe[:2], systemDrive(h)) {
		return false
	}
	target, err := rootpath.Target(host.Windows, exe)
	if err != nil {
		return false
	}
	_, _, err = rootpath.Resolve(h.FS, target, rootpath.Options{FoldCase: true})
	return errors.Is(err, fs.ErrNotExist)
}

// systemDrive is the drive letter of a Windows root ("C:" for C:\); "C:"
// for a root that is not a drive.
func systemDrive(h *host.Host) string {
	if d := winpath.Drive(h.Root); d != "" {
		return d
	}
	return "C:"
}

// clean keeps a WMI string on one line and bounded.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 512 {
		s = strings.ToValidUTF8(s[:512], "")
	}
	return s
}
