package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/text"
)

// A queued report's file is named <stamp>-<id>.json.gz, where stamp is
// the queue time in Unix nanoseconds, zero-padded to 20 digits so that
// names sort in queue order.
const (
	stampDigits = 20
	entryExt    = ".json.gz"
	idLen       = 36
	nameLen     = stampDigits + 1 + idLen + len(entryExt)
)

// entry is a queued report and its file.
type entry struct {
	Entry
	name  string
	stamp int64
}

func entryName(stamp int64, id string) string {
	return fmt.Sprintf("%0*d-%s%s", stampDigits, stamp, id, entryExt)
}

// parseName reads the stamp and id from an entry file name.
func parseName(name string) (stamp int64, id string, ok bool) {
	if len(name) != nameLen || !strings.HasSuffix(name, entryExt) || name[stampDigits] != '-' {
		return 0, "", false
	}
	digits := name[:stampDigits]
	if strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, "", false
	}
	stamp, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || stamp <= 0 {
		return 0, "", false
	}
	id = name[stampDigits+1 : stampDigits+1+idLen]
	if ValidateID(id) != nil {
		return 0, "", false
	}
	return stamp, id, true
}

// ValidateID checks that id is a report id: a UUID in its 36-character
// text form (8-4-4-4-12 hexadecimal digits, either case). Nothing else may
// become part of a file name in the spool.
func ValidateID(id string) error {
	ok := len(id) == idLen
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			ok = c == '-'
		default:
			ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
		}
	}
	if !ok {
		return fmt.Errorf("report id %q: %w (want a UUID like 3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a8b90)", text.Clip(id, 64), ErrInvalidID)
	}
	return nil
}

// parseDir sorts a directory listing into report entries (oldest first)
// and dead-letter reason files. Other names, entries that are not regular
// files and entries that vanished since the listing (Inspect runs beside
// a live spool) are left out.
func parseDir(des []fs.DirEntry) (entries []entry, reasons []string) {
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() {
			continue
		}
		if base, ok := strings.CutSuffix(name, reasonExt); ok {
			if _, _, ok := parseName(base); ok {
				reasons = append(reasons, name)
			}
			continue
		}
		stamp, id, ok := parseName(name)
		if !ok {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		entries = append(entries, entry{
			Entry: Entry{ID: id, Size: fi.Size(), Queued: time.Unix(0, stamp)},
			name:  name,
			stamp: stamp,
		})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries, reasons
}

// countDead counts the reports in the dead-letter folder.
func countDead(fsys fs.FS) (int, error) {
	des, err := fs.ReadDir(fsys, deadDir)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", deadDir, err)
	}
	entries, _ := parseDir(des)
	return len(entries), nil
}

func total(entries []entry) int64 {
	var n int64
	for _, e := range entries {
		n += e.Size
	}
	return n
}

// errLocked is what lockFile returns when another holder has the lock.
var errLocked = errors.New("locked")
