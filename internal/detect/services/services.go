// Package services is the "services" source: the Windows services and kernel
// drivers a host has, from the service control manager and the registry's
// Services key merged.
//
// Services and drivers are how security software runs: the engine service
// (AVP, klnagent) says a product is active, and its drivers (klif, klflt,
// klhk …) stay Kaspersky's whatever brand the product shows, and often
// stay behind after an uninstall. The SCM knows which services run; the
// registry also knows drivers the SCM does not list, minifilter altitudes,
// and works when the SCM cannot be asked. The source knows no vendor.
package services

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/internal/workers"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/text"
	"github.com/avscout/avscout/internal/winpath"
	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/savedkey"
)

// ServicesKey is where Windows keeps service and driver configuration.
const ServicesKey = `SYSTEM\CurrentControlSet\Services`

// maxText bounds each text taken into an observation.
const maxText = 512

// Source lists services and drivers.
type Source struct{}

// New returns the services source.
func New() *Source { return &Source{} }

// Name implements [detect.Source].
func (*Source) Name() string { return "services" }

// Entry is one service or driver, merged from the SCM and the registry.
type Entry struct {
	host.Service
	Altitudes []string // minifilter altitudes (Instances\*\Altitude)
	Location  string   // the registry key, or "service control manager" when it has none
}

// Collect implements [detect.Source]. It emits, per service, a
// [detect.KindService] observation and, per driver (type 1, 2 or 8), a
// [detect.KindDriver] one, with the image path resolved to a plain
// absolute path (quotes and arguments dropped, \SystemRoot\ and
// system32\ expanded; a driver without one gets Windows' default
// System32\drivers\<name>.sys).
//
// Status: Running when the SCM says it runs. Otherwise Present when the
// service is disabled (it cannot run: what is left of a product more than
// a product) or its image file is missing from the system drive (a
// dangling entry an uninstaller left), and Installed for the rest.
//
// The SCM's list (host.Services: names, types, states) and the registry's
// Services key (image paths, start types, altitudes) are merged by name;
// the SCM is asked for the configuration of a service only when the
// registry has none, which keeps the scan to one SCM call on a healthy
// host. The source is unavailable only when the host has neither. Each one's errors are returned, without hiding what the other
// gave. One service whose key or configuration cannot be read is a
// warning ([detect.Warn]); a list the SCM refuses, or a Services key that
// cannot be opened or listed, is the source's failure.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.Services == nil && h.Registry == nil {
		return fmt.Errorf("services: %w: %w", detect.ErrUnavailable, host.ErrNotLive)
	}
	var errs []error
	byName := map[string]*Entry{}
	var order []string
	add := func(name string) *Entry {
		id := strings.ToLower(name)
		if e, ok := byName[id]; ok {
			return e
		}
		e := &Entry{Service: host.Service{Name: name}}
		byName[id] = e
		order = append(order, id)
		return e
	}
	if h.Services != nil {
		list, err := h.Services.Services(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("service control manager: %w", err))
		}
		for _, svc := range list {
			e := add(svc.Name)
			e.Service = svc
			e.Location = "service control manager"
		}
	}
	env := winpath.Env{}
	if h.Registry != nil {
		env = winpath.EnvFrom(h.Registry)
		if err := readRegistry(ctx, h.Registry, byName, add); err != nil {
			errs = append(errs, err)
		}
	}
	// What the registry did not configure, the SCM is asked for, one
	// service at a time.
	if h.Services != nil {
		for _, id := range order {
			e := byName[id]
			if e.ImagePath != "" || e.StartType != "" || ctx.Err() != nil {
				continue
			}
			cfg, err := h.Services.Config(ctx, e.Name)
			if err != nil {
				errs = append(errs, detect.Warn(err)) // one service; it is still reported
				continue
			}
			e.ImagePath, e.StartType = cfg.ImagePath, cfg.StartType
			e.DisplayName = cmp.Or(e.DisplayName, cfg.DisplayName)
			if cfg.RawType != 0 {
				e.RawType, e.Type = cfg.RawType, cfg.Type
			}
		}
	}
	check := winpath.NewChecker(h.FS, winpath.Drive(env.SystemRoot))
	for _, id := range order {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		e := byName[id]
		exists, known := true, false
		img := ImagePath(e.Service, env)
		if img != "" {
			exists, known = check.Exists(img)
		}
		emit(Observe(*e, img, known && !exists))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("services: %w", err)
	}
	return nil
}

// readRegistry merges the Services key into the entries add returns: the
// registry fills what the SCM left empty, and adds what it did not list.
// Keys are read by a few workers: Windows answers registry calls in
// parallel, and Wine's single server overlaps them.
func readRegistry(ctx context.Context, r winreg.Registry, known map[string]*Entry, add func(string) *Entry) error {
	// A saved copy of the whole key where the registry can make one: one
	// registry call instead of several per service.
	k, err := savedkey.OpenTree(r, winreg.LocalMachine, ServicesKey, winreg.View64)
	if errors.Is(err, winreg.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer k.Close()
	names, err := k.SubKeyNames()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	type result struct {
		e   Entry
		ok  bool
		err error
	}
	results := make([]result, len(names))
	workers.ForEach(ctx, len(names), maxWorkers, func(i int) {
		path := ServicesKey + `\` + names[i]
		sk, err := k.OpenSubKey(names[i])
		if err != nil {
			if !errors.Is(err, winreg.ErrNotExist) {
				results[i].err = err
			}
			return
		}
		var have host.Service
		if e := known[strings.ToLower(names[i])]; e != nil {
			have = e.Service // known maps are only read here
		}
		e, err := ReadKey(sk, path, have)
		sk.Close()
		results[i] = result{e, true, err}
	})
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	for i, res := range results {
		if res.err != nil {
			errs = append(errs, detect.Warn(res.err)) // one service's key
		}
		reg := res.e
		if !res.ok || reg.RawType == 0 && reg.ImagePath == "" && known[strings.ToLower(names[i])] == nil {
			continue // not a service: a parameters-only key (an event log source …)
		}
		e := add(names[i])
		e.DisplayName = cmp.Or(e.DisplayName, reg.DisplayName)
		e.ImagePath = cmp.Or(e.ImagePath, reg.ImagePath)
		if e.RawType == 0 {
			e.RawType = reg.RawType
		}
		e.StartType = cmp.Or(e.StartType, reg.StartType)
		e.Type = host.ServiceTypeOf(e.RawType)
		e.Altitudes = reg.Altitudes
		e.Location = winreg.Name(winreg.LocalMachine, ServicesKey+`\`+names[i], winreg.View64)
	}
	return errors.Join(errs...)
}

// maxWorkers is how many registry keys are read at once.
const maxWorkers = 4

// ReadKey reads one service's registry key: Type, Start, ImagePath,
// DisplayName and, for drivers, the altitudes of Instances\*; the type and
// display name only when have (what the SCM said) lacks them. Missing
// values stay empty; unreadable ones are reported with what could be read.
//
// A key the SCM did not list (have is zero) that has neither a Type nor
// an ImagePath is no service (a parameters-only key, an event log
// source): nothing more is read from it, since each value read is a
// registry call, and the caller drops it.
func ReadKey(k winreg.Key, path string, have host.Service) (Entry, error) {
	var e Entry
	var errs []error
	note := func(err error) {
		if err != nil && !errors.Is(err, winreg.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	e.RawType = have.RawType
	if e.RawType == 0 {
		if n, err := winreg.Uint(k, "Type"); err == nil {
			e.RawType = uint32(n)
		} else {
			note(err)
		}
	}
	imageRead := false
	if e.RawType == 0 && have == (host.Service{}) {
		// Perhaps no service at all: its image path says, before the rest
		// is read.
		imageRead = true
		if val, err := k.Value("ImagePath"); err == nil {
			e.ImagePath = clean(val.String())
		} else {
			note(err)
		}
		if e.ImagePath == "" {
			return e, keyErr(path, errs)
		}
	}
	if n, err := winreg.Uint(k, "Start"); err == nil {
		e.StartType = host.StartTypeOf(uint32(n))
	} else {
		note(err)
	}
	var texts []struct {
		name string
		dst  *string
	}
	if !imageRead {
		texts = append(texts, struct {
			name string
			dst  *string
		}{"ImagePath", &e.ImagePath})
	}
	if have.DisplayName == "" {
		texts = append(texts, struct {
			name string
			dst  *string
		}{"DisplayName", &e.DisplayName})
	}
	for _, v := range texts {
		val, err := k.Value(v.name)
		if err != nil {
			note(err)
			continue
		}
		*v.dst = clean(val.String())
	}
	e.Type = host.ServiceTypeOf(e.RawType)
	if e.Type == host.TypeDriver { // minifilters are drivers
		e.Altitudes = altitudes(k, note)
	}
	return e, keyErr(path, errs)
}

// keyErr joins the errors of reading the service key at path, naming it.
func keyErr(path string, errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", winreg.Name(winreg.LocalMachine, path, winreg.View64), err)
	}
	return nil
}

// altitudes reads Instances\*\Altitude of a minifilter's key k.
func altitudes(k winreg.Key, note func(error)) []string {
	ik, err := k.OpenSubKey("Instances")
	if err != nil {
		note(err)
		return nil
	}
	defer ik.Close()
	insts, err := ik.SubKeyNames()
	note(err)
	var out []string
	for _, inst := range insts {
		ak, err := ik.OpenSubKey(inst)
		if err != nil {
			note(err)
			continue
		}
		if v, err := ak.Value("Altitude"); err == nil {
			if a := clean(v.String()); a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		} else {
			note(err)
		}
		ak.Close()
	}
	return out
}

// ImagePath resolves an entry's configured image path to the file Windows
// loads; a driver without one loads System32\drivers\<name>.sys.
func ImagePath(s host.Service, env winpath.Env) string {
	p := winpath.Program(s.ImagePath)
	if p == "" {
		if s.Type != host.TypeDriver {
			return ""
		}
		p = `System32\drivers\` + s.Name + ".sys"
	}
	return winpath.Resolve(p, env)
}

// Observe maps a merged entry, its resolved image path and whether that
// file is known to be missing, to an observation. A minifilter's
// altitudes go to Altitude, comma-separated in the registry's order.
func Observe(e Entry, image string, missing bool) detect.Observation {
	kind := detect.KindService
	if e.Type == host.TypeDriver {
		kind = detect.KindDriver
	}
	status := detect.Installed
	var why string
	switch {
	case e.State == host.StateRunning:
		status = detect.Running
	case e.StartType == host.StartDisabled:
		status, why = detect.Present, "disabled"
	case missing:
		status, why = detect.Present, "image missing"
	}
	var b strings.Builder
	b.WriteString(string(e.Type) + " " + e.Name)
	if e.DisplayName != "" && e.DisplayName != e.Name {
		b.WriteString(` "` + e.DisplayName + `"`)
	}
	if image != "" {
		b.WriteString(" " + image)
	}
	var facts []string
	if e.StartType != "" {
		facts = append(facts, "start "+string(e.StartType))
	}
	if e.State != host.StateUnknown {
		facts = append(facts, string(e.State))
	}
	if why == "image missing" {
		facts = append(facts, why)
	}
	if len(e.Altitudes) > 0 {
		facts = append(facts, "altitude "+strings.Join(e.Altitudes, ", "))
	}
	if len(facts) > 0 {
		b.WriteString(" (" + strings.Join(facts, ", ") + ")")
	}
	return detect.Observation{
		Kind:     kind,
		Status:   status,
		Name:     e.Name,
		Display:  e.DisplayName,
		Path:     image,
		Altitude: strings.Join(e.Altitudes, ","),
		Location: e.Location,
		Detail:   text.Clip(b.String(), 2*maxText),
	}
}

// clean makes registry text safe for a report.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return text.Clip(strings.TrimSpace(s), maxText)
}
