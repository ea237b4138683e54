package winreg

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// saver saves keys with RegSaveKeyExW, which needs SeBackupPrivilege: a
// service running as LocalSystem and an elevated administrator hold it,
// disabled until enabled. It is enabled for each save and disabled again,
// one save at a time, so that the agent never runs with it enabled
// otherwise. Without it the save fails and the caller reads key by key.
type saver struct {
	mu   sync.Mutex
	proc *windows.LazyProc
}

func newSaver() *saver {
	return &saver{proc: windows.NewLazySystemDLL("advapi32.dll").NewProc("RegSaveKeyExW")}
}

// regLatestFormat asks RegSaveKeyEx for the current hive format.
const regLatestFormat = 2

// Save implements [Saver]: the key is opened as OpenKey opens it, saved
// into a new file of a private temporary folder, read back and removed.
func (r *liveRegistry) Save(hive Hive, path string, view View) ([]byte, error) {
	name := Name(hive, path, view)
	k, err := r.OpenKey(hive, path, view)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	if err := r.saver.proc.Find(); err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	dir, err := os.MkdirTemp("", "avscout-reg-")
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	file := filepath.Join(dir, "key")
	// Not RemoveAll, which fails under Wine 8 ("unlinkat: Invalid
	// function"): the file, then its folder.
	defer func() {
		os.Remove(file)
		os.Remove(dir)
	}()
	if err := r.saver.save(k.(*liveKey), file); err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSave+1))
	if err != nil {
		return nil, fmt.Errorf("save %s: read the copy: %w", name, err)
	}
	if len(b) > MaxSave {
		return nil, fmt.Errorf("save %s: copy larger than %d bytes: %w", name, MaxSave, ErrTooLarge)
	}
	return b, nil
}

func (s *saver) save(k *liveKey, file string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	restore, err := enableBackup()
	if err != nil {
		return err
	}
	defer restore()
	p, err := windows.UTF16PtrFromString(file)
	if err != nil {
		return err
	}
	r, _, _ := s.proc.Call(uintptr(k.k), uintptr(unsafe.Pointer(p)), 0, regLatestFormat)
	if r != 0 {
		return windows.Errno(r)
	}
	return nil
}

// enableBackup enables SeBackupPrivilege on the process token and
// returns what puts it back as it was.
func enableBackup() (restore func(), err error) {
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_QUERY, &tok); err != nil {
		return nil, fmt.Errorf("open the process token: %w", err)
	}
	name, _ := windows.UTF16PtrFromString("SeBackupPrivilege")
	var luid windows.LUID
	if err := windows.LookupPrivilegeValue(nil, name, &luid); err != nil {
		tok.Close()
		return nil, fmt.Errorf("look up SeBackupPrivilege: %w", err)
	}
	enable := windows.Tokenprivileges{PrivilegeCount: 1}
	enable.Privileges[0] = windows.LUIDAndAttributes{Luid: luid, Attributes: windows.SE_PRIVILEGE_ENABLED}
	var prev windows.Tokenprivileges
	var n uint32
	if err := windows.AdjustTokenPrivileges(tok, false, &enable, uint32(unsafe.Sizeof(prev)), &prev, &n); err != nil {
		tok.Close()
		return nil, fmt.Errorf("enable SeBackupPrivilege: %w", err)
	}
	return func() {
		if prev.PrivilegeCount > 0 { // it was disabled: disable it again
			_ = windows.AdjustTokenPrivileges(tok, false, &prev, 0, nil, nil)
		}
		tok.Close()
	}, nil
}

var _ Saver = (*liveRegistry)(nil)
