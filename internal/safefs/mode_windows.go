package safefs

import (
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Reparse tags os knows (internal/syscall/windows) and x/sys/windows does
// not name.
const (
	reparseTagDedup  = 0x80000013
	reparseTagAFUnix = 0x80000023
)

// openedInfo says what an opened file is, from its handle's type and
// attributes, without the full Stat: os.File.Stat asks
// GetFileInformationByHandle, which also queries the volume for its serial
// number, a round trip to the mount manager under Wine. The file info is
// left to a later Stat. The type bits are those os.File.Stat gives.
func openedInfo(f *os.File) (fs.FileMode, fs.FileInfo, error) {
	h := windows.Handle(f.Fd())
	ft, err := windows.GetFileType(h)
	if err != nil {
		return 0, nil, err
	}
	switch ft {
	case windows.FILE_TYPE_PIPE:
		return fs.ModeNamedPipe, nil, nil
	case windows.FILE_TYPE_CHAR:
		return fs.ModeDevice | fs.ModeCharDevice, nil, nil
	}
	var ti struct{ FileAttributes, ReparseTag uint32 } // FILE_ATTRIBUTE_TAG_INFO
	if err := windows.GetFileInformationByHandleEx(h, windows.FileAttributeTagInfo, (*byte)(unsafe.Pointer(&ti)), uint32(unsafe.Sizeof(ti))); err != nil {
		return 0, nil, err
	}
	return attrMode(ti.FileAttributes, ti.ReparseTag), nil, nil
}

// attrMode is the type os.File.Stat gives a disk file of these attributes
// and reparse tag.
func attrMode(attrs, tag uint32) fs.FileMode {
	var m fs.FileMode
	reparse := attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0
	surrogate := reparse && tag&0x20000000 != 0 // IsReparseTagNameSurrogate
	if !surrogate && attrs&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
		m |= fs.ModeDir
	}
	if reparse {
		switch tag {
		case windows.IO_REPARSE_TAG_SYMLINK:
			m |= fs.ModeSymlink
		case reparseTagAFUnix:
			m |= fs.ModeSocket
		case reparseTagDedup: // regular enough, as for os
		default:
			m |= fs.ModeIrregular
		}
	}
	return m
}
