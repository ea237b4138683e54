package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/paths"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/winpath"
	"github.com/avscout/avscout/internal/winreg"
)

// HiveOpener opens the registry hive file name (slash separated, in its
// actual case) of fsys, with its transaction logs, and returns its root
// key, what is doubtful about it (a dirty hive whose logs could not be
// replayed: "" when nothing is), and what releases it. Errors name the
// file.
type HiveOpener func(ctx context.Context, fsys fs.FS, name string) (root winreg.Key, warning string, closer io.Closer, err error)

// Where an offline Windows installation keeps its hives, as Windows
// writes the names; they are looked up in any case.
const (
	configDir    = "Windows/System32/config"
	usersDir     = "Users"
	userHiveName = "NTUSER.DAT"
	profileList  = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList`
)

// notUsers are the folders of Users that are no one's profile: the
// template new profiles are copied from (whose NTUSER.DAT no running
// Windows loads), the shared Public folder, and the links older Windows
// names pointed at.
var notUsers = map[string]bool{"default": true, "default user": true, "all users": true, "public": true}

// hiveNeeds says which hives each registry source reads offline: a
// source whose hive could not be read fails, so the verdict is
// incomplete, rather than report nothing from it.
var hiveNeeds = map[string][]string{
	"uninstall":  {winreg.HiveSoftware, winreg.HiveUsers},
	"vendorkeys": {winreg.HiveSoftware, winreg.HiveUsers},
	"services":   {winreg.HiveSystem},
}

// offlineHost returns h with the registry of the Windows installation on
// its disk when h is a Windows root with no registry, and what closes the
// hives; h itself, and a no-op, otherwise.
func offlineHost(ctx context.Context, h *host.Host, open HiveOpener) (*host.Host, func()) {
	if h.Live || h.OS != host.Windows || h.Registry != nil || h.FS == nil {
		return h, func() {}
	}
	if open == nil {
		open = OpenHive
	}
	reg, closers := OpenOffline(ctx, h.FS, open)
	hc := *h
	hc.Registry = reg
	return &hc, func() {
		for _, c := range closers {
			c.Close()
		}
	}
}

// OpenOffline finds the hives of the Windows installation on fsys —
// Windows/System32/config/SOFTWARE and SYSTEM, and Users/*/NTUSER.DAT,
// each looked up in any case — opens them with open, and returns their
// registry and what must be closed once it is no longer read. A hive that
// is missing or cannot be opened is recorded in the registry (see
// [winreg.Offline.Check]), never a reason to fail here. User hives appear
// under HKEY_USERS by the SID SOFTWARE's profile list gives their folder,
// else by the folder's name.
func OpenOffline(ctx context.Context, fsys fs.FS, open HiveOpener) (*winreg.Offline, []io.Closer) {
	var closers []io.Closer
	openOne := func(name string) *winreg.OfflineHive {
		loc, fi, err := paths.Resolve(fsys, name, paths.Options{FoldCase: true})
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, paths.ErrNotDir):
			return nil
		case err != nil:
			return &winreg.OfflineHive{Path: name, Err: err}
		case !fi.Mode().IsRegular():
			return &winreg.OfflineHive{Path: loc, Err: fmt.Errorf("%s: not a regular file", loc)}
		}
		root, warning, c, err := open(ctx, fsys, loc)
		if err != nil {
			return &winreg.OfflineHive{Path: loc, Err: err}
		}
		closers = append(closers, c)
		return &winreg.OfflineHive{Path: loc, Root: root, Warning: warning}
	}
	hives := winreg.OfflineHives{
		Software: openOne(configDir + "/SOFTWARE"),
		System:   openOne(configDir + "/SYSTEM"),
	}
	sids := profileSIDs(hives.Software)
	if dir, _, err := paths.Resolve(fsys, usersDir, paths.Options{FoldCase: true}); err == nil {
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			hives.Users = append(hives.Users, winreg.UserHive{Name: usersDir,
				OfflineHive: winreg.OfflineHive{Path: dir, Err: fmt.Errorf("list the user profiles: %w", err)}})
		}
		for _, e := range ents {
			if !e.IsDir() || notUsers[strings.ToLower(e.Name())] {
				continue // a link (All Users), a file, or no one's profile
			}
			h := openOne(path.Join(dir, e.Name(), userHiveName))
			if h == nil {
				continue // a profile folder without a hive: nobody's registry
			}
			name := e.Name()
			if sid := sids[strings.ToLower(name)]; sid != "" {
				name = sid
			}
			hives.Users = append(hives.Users, winreg.UserHive{Name: name, OfflineHive: *h})
		}
	}
	return winreg.NewOffline(hives), closers
}

// profileSIDs maps the lower-case names of profile folders to the SIDs
// SOFTWARE's profile list gives them (ProfileImagePath
// "%SystemDrive%\Users\alice" under ProfileList\S-1-5-21-…).
func profileSIDs(software *winreg.OfflineHive) map[string]string {
	out := map[string]string{}
	if software == nil || software.Root == nil {
		return out
	}
	k, err := software.Root.OpenSubKey(strings.TrimPrefix(profileList, `SOFTWARE\`))
	if err != nil {
		return out
	}
	defer k.Close()
	names, _ := k.SubKeyNames()
	for _, sid := range names {
		pk, err := k.OpenSubKey(sid)
		if err != nil {
			continue
		}
		p, _ := winreg.String(pk, "ProfileImagePath")
		pk.Close()
		base := strings.ToLower(winpath.Base(strings.TrimSpace(p)))
		// Two SIDs for one folder (a profile recreated): the last, in the
		// registry's order, wins; both name the same person.
		if base != "" && strings.HasPrefix(strings.ToUpper(sid), "S-1-") {
			out[base] = sid
		}
	}
	return out
}

// hiveGuard runs a registry source on an offline registry only when the
// hives it reads could be read: otherwise it fails with their errors.
// What is doubtful about a hive read anyway (dirty, not replayed) is a
// warning in the source's status.
type hiveGuard struct {
	detect.Source
	needs []string
}

func (g hiveGuard) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	off, ok := h.Registry.(*winreg.Offline)
	if !ok {
		return g.Source.Collect(ctx, h, emit)
	}
	failed, warnings := off.Check(g.needs...)
	if failed != nil {
		return fmt.Errorf("%s: %w", g.Name(), failed)
	}
	errs := []error{g.Source.Collect(ctx, h, emit)}
	for _, w := range warnings {
		errs = append(errs, detect.Warn(errors.New(w)))
	}
	return errors.Join(errs...)
}

// guardHives wraps the registry sources of a scan of an offline registry.
func guardHives(h *host.Host, sources []detect.Source) []detect.Source {
	if _, ok := h.Registry.(*winreg.Offline); !ok {
		return sources
	}
	out := make([]detect.Source, len(sources))
	for i, s := range sources {
		out[i] = s
		if needs, ok := hiveNeeds[s.Name()]; ok {
			out[i] = hiveGuard{Source: s, needs: needs}
		}
	}
	return out
}
