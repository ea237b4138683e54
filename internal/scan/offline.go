package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
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

// notUser reports whether a folder of Users, in lower case, is no one's
// profile: the template new profiles are copied from (whose NTUSER.DAT no
// running Windows loads), the shared Public folder, and the links older
// Windows names pointed at.
func notUser(lower string) bool {
	switch lower {
	case "default", "default user", "all users", "public":
		return true
	}
	return false
}

// hiveNeeds says which hives each registry source reads offline (nil for
// the others): a source whose hive could not be read fails, so the verdict
// is incomplete, rather than report nothing from it.
func hiveNeeds(source string) []string {
	switch source {
	case "uninstall", "vendorkeys":
		return []string{winreg.HiveSoftware, winreg.HiveUsers}
	case "services":
		return []string{winreg.HiveSystem}
	}
	return nil
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
		loc, fi, err := rootpath.Resolve(fsys, name, rootpath.Options{FoldCase: true})
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, rootpath.ErrNotDir):
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
	if dir, _, err := rootpath.Resolve(fsys, usersDir, rootpath.Options{FoldCase: true}); err == nil {
		ents, err := listProfiles(ctx, fsys, dir)
		if err != nil {
			hives.Users = append(hives.Users, winreg.UserHive{Name: usersDir,
				OfflineHive: winreg.OfflineHive{Path: dir, Err: fmt.Errorf("list the user profiles: %w", err)}})
		}
		for _, e := range ents {
			if !e.IsDir() || notUser(strings.ToLower(e.Name())) {
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

// maxProfiles bounds the profile folders of Users whose hives are
// opened: each holds a file open, and some memory, until the scan ends.
// A terminal server has a few thousand; more fails the user hives.
const maxProfiles = 10_000

// listProfiles reads the entries of the Users folder dir, in batches and
// at most maxProfiles of them, sorted by name; with more, it returns the
// first maxProfiles read and an error saying the rest were not.
func listProfiles(ctx context.Context, fsys fs.FS, dir string) ([]fs.DirEntry, error) {
	f, err := fsys.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: rootpath.ErrNotDir}
	}
	var ents []fs.DirEntry
	for {
		if err := ctx.Err(); err != nil {
			return sortByName(ents), err
		}
		batch, err := rd.ReadDir(256)
		ents = append(ents, batch...)
		if len(ents) > maxProfiles {
			return sortByName(ents[:maxProfiles]), &fs.PathError{Op: "readdir", Path: dir,
				Err: fmt.Errorf("more than %d entries: the hives of the rest were not read", maxProfiles)}
		}
		if err == io.EOF || err == nil && len(batch) == 0 {
			return sortByName(ents), nil
		}
		if err != nil {
			return sortByName(ents), &fs.PathError{Op: "readdir", Path: dir, Err: err}
		}
	}
}

func sortByName(ents []fs.DirEntry) []fs.DirEntry {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents
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

// hiveGuard runs a registry source on an offline registry and fails it
// when a hive it reads could not be read, with that hive's error; what it
// found in the others is kept, so a product seen there still counts.
// What is doubtful about a hive read anyway (dirty, not replayed) is a
// warning in the source's status. A source that meets a corrupt cell
// while reading (an error wrapping [winreg.ErrHiveUnavailable]) fails
// too, even where it would count an unreadable key as one item lost: a
// live registry denies one key, but a corrupt hive may hide any number.
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
	err := g.Source.Collect(ctx, h, emit)
	if failed != nil {
		// What the source found in the hives that could be read still
		// counts. Its errors about the hives that could not are the
		// failure's own, said once.
		failed = fmt.Errorf("%s: %w", g.Name(), failed)
		if err != nil && !errors.Is(err, winreg.ErrHiveUnavailable) {
			return errors.Join(failed, err)
		}
		return failed
	}
	if errors.Is(err, winreg.ErrHiveUnavailable) {
		return hiveDamaged{err} // err names the source, the hive and the cell
	}
	errs := []error{err}
	for _, w := range warnings {
		errs = append(errs, detect.Warn(errors.New(w)))
	}
	return errors.Join(errs...)
}

// hiveDamaged is the error of a source that met a damaged hive: the
// same text and causes as err, but no warning ([detect.IsWarning] does not
// see through it), since the source may have missed more than the items
// it names.
type hiveDamaged struct{ err error }

func (d hiveDamaged) Error() string { return d.err.Error() }

// Is lets errors.Is find err's causes.
func (d hiveDamaged) Is(target error) bool { return errors.Is(d.err, target) }

// guardHives wraps the registry sources of a scan of an offline registry.
func guardHives(h *host.Host, sources []detect.Source) []detect.Source {
	if _, ok := h.Registry.(*winreg.Offline); !ok {
		return sources
	}
	out := make([]detect.Source, len(sources))
	for i, s := range sources {
		out[i] = s
		if needs := hiveNeeds(s.Name()); needs != nil {
			out[i] = hiveGuard{Source: s, needs: needs}
		}
	}
	return out
}
