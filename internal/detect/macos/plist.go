package macos

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/avscout/avscout/internal/plist"
	"github.com/avscout/avscout/internal/safefs"
)

// MaxPlist bounds the property lists the sources read: 5 MiB, as syft's
// Info.plist reader (the cap of [safefs.Plist]). Real Info.plists,
// receipts, launchd jobs and the system extension database are a few KiB.
const MaxPlist = 5 << 20

// ErrBadPlist means a file is not a property list whose top level is a
// dictionary: malformed, truncated, empty or of another shape.
var ErrBadPlist = errors.New("not a valid property list")

// Dict is a property list dictionary as decoded: values are string,
// integers (int64 or uint64), float64, bool, time.Time, []byte, []any and
// map[string]any. Its getters never panic on unexpected types.
type Dict map[string]any

// DecodePlist decodes a property list in XML, binary ("bplist00") or
// OpenStep form whose top level is a dictionary, within the default
// [plist.Limits]: a plist bomb (shared references that expand, nesting a
// million deep) is refused at once with an error naming the limit.
// Errors wrap [ErrBadPlist], and [plist.ErrLimit] when a limit tripped.
func DecodePlist(b []byte) (Dict, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrBadPlist)
	}
	v, err := plist.Decode(b, plist.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPlist, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: top level is %s, not a dictionary", ErrBadPlist, typeName(v))
	}
	return Dict(m), nil
}

// ReadPlist reads and decodes the property list name in fsys (see
// [Open]), at most [MaxPlist] bytes. It returns the name it was read
// under. Errors name the file.
func ReadPlist(fsys fs.FS, name string) (Dict, string, error) {
	return ReadPlistContext(context.Background(), fsys, name)
}

// ReadPlistContext is [ReadPlist] stopping once ctx is done.
func ReadPlistContext(ctx context.Context, fsys fs.FS, name string) (Dict, string, error) {
	real, err := find(fsys, name)
	if err != nil {
		return nil, real, err
	}
	b, err := safefs.ReadFile(ctx, fsys, real, safefs.Plist)
	if err != nil {
		return nil, real, via(name, real, err) // names the file
	}
	d, err := DecodePlist(b)
	if err != nil {
		return nil, real, fmt.Errorf("%s: %w", real, err)
	}
	return d, real, nil
}

// String returns the value of key as a string: strings as they are,
// numbers and booleans formatted (CFBundleVersion is sometimes written as
// an integer), anything else "".
func (d Dict) String(key string) string {
	switch v := d[key].(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// Strings returns the strings of the array at key, skipping other values.
func (d Dict) Strings(key string) []string {
	arr, _ := d[key].([]any)
	var out []string
	for _, v := range arr {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Array returns the array at key, nil if there is none.
func (d Dict) Array(key string) []any {
	arr, _ := d[key].([]any)
	return arr
}

// Dict returns the dictionary at key, nil if there is none.
func (d Dict) Dict(key string) Dict {
	m, _ := d[key].(map[string]any)
	return Dict(m)
}

// Bool returns the boolean at key; false when absent or of another type.
func (d Dict) Bool(key string) bool {
	b, _ := d[key].(bool)
	return b
}

// Time returns the date at key.
func (d Dict) Time(key string) (time.Time, bool) {
	t, ok := d[key].(time.Time)
	return t, ok
}

// typeName names a decoded value's property list type for messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case []byte:
		return "data"
	case time.Time:
		return "a date"
	case int64, uint64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
