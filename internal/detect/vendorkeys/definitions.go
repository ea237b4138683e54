package vendorkeys

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/winreg"
)

// Years outside these are not definitions dates a product wrote but a
// zero, a byte-swapped or a planted value.
const minDefinitionsYear, maxDefinitionsYear = 1990, 2200

// DefinitionsDate reads a registry value holding a definitions date
// written in format ("dd-MM-yyyy HH-mm-ss", "unix" or "filetime", as the
// catalog names them) and returns it as YYYY-MM-DD in UTC. It returns
// false for another format, a value of another type, zero or "never"
// (0xFFFFFFFF), and a date outside 1990–2200.
func DefinitionsDate(v winreg.Value, format string) (string, bool) {
	var t time.Time
	switch format {
	case "dd-MM-yyyy HH-mm-ss":
		s, err := v.AsString()
		if err != nil {
			return "", false
		}
		t, err = time.Parse("02-01-2006 15-04-05", strings.TrimSpace(s))
		if err != nil {
			return "", false
		}
	case "unix":
		n, err := v.AsUint()
		if err != nil || n == 0 || n == 0xffffffff {
			return "", false
		}
		t = time.Unix(int64(min(n, 1<<40)), 0)
	case "filetime":
		var n uint64
		if v.Type == winreg.BINARY {
			if len(v.Data) != 8 {
				return "", false
			}
			n = binary.LittleEndian.Uint64(v.Data)
		} else if u, err := v.AsUint(); err == nil {
			n = u
		} else {
			return "", false
		}
		// 100 ns intervals since 1601-01-01; 11644473600 s to 1970.
		const epochDiff = 11644473600
		secs := int64(n / 10_000_000)
		if secs < epochDiff {
			return "", false
		}
		t = time.Unix(secs-epochDiff, 0)
	default:
		return "", false
	}
	t = t.UTC()
	if t.Year() < minDefinitionsYear || t.Year() > maxDefinitionsYear {
		return "", false
	}
	return t.Format(time.DateOnly), true
}
