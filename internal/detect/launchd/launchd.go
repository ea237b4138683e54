// Package launchd is the "launchd" source: the launchd jobs a macOS target
// defines in /Library/LaunchDaemons, /Library/LaunchAgents and each
// user's ~/Library/LaunchAgents.
//
// Every security product on a Mac starts its daemons and agents through
// launchd, so a job definition is how macOS knows a product runs at boot
// — and, when an uninstaller removed the program but not its plist, the
// clearest leftover there is: the job names a program that is gone. The
// source reads the definitions (XML or binary plists) and looks at the
// program each starts: whether it exists, and the Team ID of its code
// signature when it is a Mach-O file. It knows no vendor.
package launchd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/macho"
	"github.com/avscout/avscout/internal/detect/macos"
	"github.com/avscout/avscout/internal/host"
)

// jobDirs hold system-wide job definitions; user agents live under
// Users/<user>/Library/LaunchAgents. /System/Library holds Apple's own
// and is not read.
var jobDirs = []string{"Library/LaunchDaemons", "Library/LaunchAgents"}

// Source reads launchd job definitions.
type Source struct{}

// New returns the launchd source.
func New() *Source { return &Source{} }

// Name implements [detect.Source].
func (*Source) Name() string { return "launchd" }

// Collect implements [detect.Source]. It emits one [detect.KindService]
// observation per job definition (see [Observe]). Definitions that cannot
// be read, and programs whose Mach-O code signature is malformed, are one
// job's failure, returned as warnings ([detect.Warn]); folders that cannot
// be listed are the source's failure. Missing directories are not
// errors. It is for macOS targets only.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.FS == nil {
		return fmt.Errorf("launchd: no filesystem: %w", detect.ErrUnavailable)
	}
	var errs macos.Errors
	dirs := append([]string(nil), jobDirs...)
	usersReal, users, err := macos.ReadDir(ctx, h.FS, "Users")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs.Add(err)
	}
	for _, u := range users {
		if e, err := macos.Resolve(h.FS, "Users", usersReal, u); err == nil && e.IsDir {
			dirs = append(dirs, e.Name+"/Library/LaunchAgents")
		}
	}
	err = macos.ReadPlistDirs(ctx, h.FS, dirs, &errs, func(d macos.Dict, loc string) {
		o, oerrs := Observe(h.FS, d, loc)
		for _, err := range oerrs {
			errs.Add(detect.Warn(err)) // the job is still reported
		}
		emit(o)
	})
	if err != nil {
		return fmt.Errorf("launchd: %w", err)
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("launchd: %w", err)
	}
	return nil
}

// Observe describes the job definition d read from loc on the root fsys.
//
// Name is the job's Label (the file name without ".plist" when the label
// is missing, which is also reported as an error); Path is Program, else
// the first of ProgramArguments. Status is Installed, or Residual when
// Path is absolute and names nothing on the root: the job would fail to
// start, its product is gone. The detail names the Team ID of the
// program when it is a signed Mach-O file; a program that is a script is
// not an error, a malformed Mach-O file is.
func Observe(fsys fs.FS, d macos.Dict, loc string) (detect.Observation, []error) {
	var errs []error
	label := strings.TrimSpace(d.String("Label"))
	if label == "" {
		label = strings.TrimSuffix(path.Base(loc), ".plist")
		errs = append(errs, fmt.Errorf("%s: no Label", loc))
	}
	program := strings.TrimSpace(d.String("Program"))
	if program == "" {
		if args := d.Strings("ProgramArguments"); len(args) > 0 {
			program = strings.TrimSpace(args[0])
		}
	}
	o := detect.Observation{
		Kind:     detect.KindService,
		Status:   detect.Installed,
		Name:     label,
		Path:     program,
		Location: loc,
	}
	var notes []string
	if d.Bool("Disabled") {
		notes = append(notes, "disabled")
	}
	switch {
	case program == "":
		notes = append(notes, "no program")
	case !strings.HasPrefix(program, "/"):
		notes = append(notes, "program found through PATH")
	default:
		name := strings.TrimPrefix(path.Clean(program), "/")
		ok, err := macos.Exists(fsys, name)
		switch {
		case err != nil:
			notes = append(notes, "program unreadable")
			errs = append(errs, fmt.Errorf("%s: program %s: %w", loc, program, err))
		case !ok:
			o.Status = detect.Residual
			notes = append(notes, "program missing")
		default:
			sig, _, err := macos.FileSignature(fsys, name)
			switch {
			case errors.Is(err, macho.ErrNotMachO):
				// a shell script or an interpreter's script: not signed
			case errors.Is(err, macos.ErrNotRegular):
				notes = append(notes, "program is not a file")
			case err != nil:
				errs = append(errs, fmt.Errorf("%s: program: %w", loc, err))
			case sig.TeamID != "":
				// Named in the detail only: as a Signer it would make the
				// catalog report every vendor-signed daemon whose label
				// it does not know as a product of its own.
				notes = append(notes, "signed by team "+sig.TeamID)
			}
		}
	}
	o.Detail = label
	if program != "" {
		o.Detail += ": " + program
	}
	if len(notes) > 0 {
		o.Detail += " (" + strings.Join(notes, ", ") + ")"
	}
	return o, errs
}
