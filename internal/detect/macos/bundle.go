package macos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/macho"
	"github.com/avscout/avscout/internal/safefs"
)

// Bundle is what a bundle's Info.plist says about it.
type Bundle struct {
	Identifier   string // CFBundleIdentifier
	Name         string // CFBundleName
	DisplayName  string // CFBundleDisplayName
	Executable   string // CFBundleExecutable
	ShortVersion string // CFBundleShortVersionString
	Version      string // CFBundleVersion
}

// ParseInfoPlist reads a bundle's Info.plist, XML or binary.
func ParseInfoPlist(b []byte) (Bundle, error) {
	d, err := DecodePlist(b)
	if err != nil {
		return Bundle{}, err
	}
	return bundleOf(d), nil
}

func bundleOf(d Dict) Bundle {
	return Bundle{
		Identifier:   strings.TrimSpace(d.String("CFBundleIdentifier")),
		Name:         strings.TrimSpace(d.String("CFBundleName")),
		DisplayName:  strings.TrimSpace(d.String("CFBundleDisplayName")),
		Executable:   strings.TrimSpace(d.String("CFBundleExecutable")),
		ShortVersion: strings.TrimSpace(d.String("CFBundleShortVersionString")),
		Version:      strings.TrimSpace(d.String("CFBundleVersion")),
	}
}

// Title is the name the bundle shows: CFBundleDisplayName, else
// CFBundleName, else the bundle folder's name without its extension, as
// the Finder shows it.
func (b Bundle) Title(dir string) string {
	switch {
	case b.DisplayName != "":
		return b.DisplayName
	case b.Name != "":
		return b.Name
	}
	base := path.Base(dir)
	return strings.TrimSuffix(base, path.Ext(base))
}

// VersionString is CFBundleShortVersionString, else CFBundleVersion.
func (b Bundle) VersionString() string {
	if b.ShortVersion != "" {
		return b.ShortVersion
	}
	return b.Version
}

// ReadBundle reads dir/Contents/Info.plist, dir being a bundle folder
// (an .app, a .kext) in fsys, and returns what it says and the name it was
// read under.
func ReadBundle(fsys fs.FS, dir string) (Bundle, string, error) {
	d, loc, err := ReadPlist(fsys, dir+"/Contents/Info.plist")
	if err != nil {
		return Bundle{}, loc, err
	}
	return bundleOf(d), loc, nil
}

// ErrNoExecutable means a bundle names no main executable and has none
// named after itself.
var ErrNoExecutable = errors.New("no main executable")

// ExecutableSignature reads the code signature of the main executable of
// the bundle b in folder dir: Contents/MacOS/<CFBundleExecutable>, or,
// when the Info.plist names none, the file named after the bundle. It
// returns the signature to judge by (the first architecture with a team
// identifier, else the first) and the executable's name in fsys.
func ExecutableSignature(fsys fs.FS, dir string, b Bundle) (macho.Signature, string, error) {
	exe := b.Executable
	if exe == "" {
		base := path.Base(dir)
		exe = strings.TrimSuffix(base, path.Ext(base))
		name := dir + "/Contents/MacOS/" + exe
		if ok, _ := Exists(fsys, name); !ok {
			return macho.Signature{}, "", fmt.Errorf("%s: %w", dir, ErrNoExecutable)
		}
	}
	if strings.ContainsAny(exe, "/\x00") || exe == "." || exe == ".." {
		return macho.Signature{}, "", fmt.Errorf("%s: CFBundleExecutable %q is not a file name", dir, exe)
	}
	return FileSignature(fsys, dir+"/Contents/MacOS/"+exe)
}

// ObserveBundle starts the observation of the bundle listed as name
// (slash separated, relative to the root) whose link-free name is real:
// Kind is kind, Status Installed, Path "/"+name, Location the Info.plist
// read (its expected name when it cannot be read). It returns what the
// Info.plist says and how the main executable is signed: "no executable",
// "signature unreadable", or, when the signature was read, Signer is set
// to its Team ID and signed is describe's text. What cannot be read is
// returned as errors, Info.plist first; the rest of the observation
// (Name, Version, Detail…) is the caller's.
func ObserveBundle(fsys fs.FS, name, real string, kind detect.Kind, describe func(sig macho.Signature, exe string) string) (o detect.Observation, b Bundle, signed string, errs []error) {
	o = detect.Observation{
		Kind:     kind,
		Status:   detect.Installed,
		Path:     "/" + name,
		Location: real + "/Contents/Info.plist",
	}
	b, loc, err := ReadBundle(fsys, real)
	if err != nil {
		errs = append(errs, err)
	} else {
		o.Location = loc
	}
	sig, exe, err := ExecutableSignature(fsys, real, b)
	switch {
	case errors.Is(err, ErrNoExecutable):
		signed = "no executable"
	case err != nil:
		errs = append(errs, err)
		signed = "signature unreadable"
	default:
		o.Signer = sig.TeamID
		signed = describe(sig, exe)
	}
	return o, b, signed, errs
}

// maxInMemory bounds a file read whole because fsys gives no ReaderAt.
const maxInMemory = 64 << 20

// FileSignature reads the code signature of the Mach-O file name in
// fsys, as [ExecutableSignature] does.
func FileSignature(fsys fs.FS, name string) (macho.Signature, string, error) {
	f, loc, err := Open(context.Background(), fsys, name, safefs.Executable)
	if err != nil {
		return macho.Signature{}, loc, err
	}
	defer f.Close()
	var ra io.ReaderAt = f
	if !f.RandomAccess() {
		if f.Size() > maxInMemory {
			return macho.Signature{}, loc, fmt.Errorf("%s: %d bytes is too large to read without random access", loc, f.Size())
		}
		b, err := io.ReadAll(io.LimitReader(f, maxInMemory))
		if err != nil {
			return macho.Signature{}, loc, fmt.Errorf("read %s: %w", loc, err)
		}
		ra = bytes.NewReader(b)
	}
	sigs, err := macho.Read(ra, f.Size())
	var best macho.Signature
	for i, s := range sigs {
		if i == 0 || (best.TeamID == "" && s.TeamID != "") {
			best = s
		}
	}
	if err != nil {
		return best, loc, fmt.Errorf("%s: %w", loc, err)
	}
	return best, loc, nil
}
