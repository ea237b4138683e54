package winreg

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/windows"
)

// saver saves keys with RegSaveKeyExW, which needs SeBackupPrivilege: a
// service running as LocalSystem and an elevated administrator hold it,
// disabled. It is enabled only on an impersonation token of the one OS
// thread that saves, which is then let go, so no other goroutine ever
// runs with it: Go opens files with FILE_FLAG_BACKUP_SEMANTICS, which
// with the privilege enabled would pass over their access rights. Once a
// save has failed for want of the privilege, none is tried again.
type saver struct {
	proc   *windows.LazyProc
	unheld atomic.Bool // the process does not hold SeBackupPrivilege
}

func newSaver() *saver {
	return &saver{proc: windows.NewLazySystemDLL("advapi32.dll").NewProc("RegSaveKeyExW")}
}

// regLatestFormat asks RegSaveKeyEx for the current hive format.
const regLatestFormat = 2

// errNoBackupPrivilege: the process cannot save keys.
var errNoBackupPrivilege = errors.New("SeBackupPrivilege not held")

// Save implements [Saver]: the key is opened as OpenKey opens it, saved
// into a new file of a new temporary folder, read back and removed.
func (r *liveRegistry) Save(hive Hive, path string, view View) ([]byte, error) {
	name := Name(hive, path, view)
	if r.saver.unheld.Load() {
		return nil, fmt.Errorf("save %s: %w", name, errNoBackupPrivilege)
	}
	if err := r.saver.proc.Find(); err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	k, err := r.OpenKey(hive, path, view)
	if err != nil {
		return nil, err
	}
	defer k.Close()
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
		if errors.Is(err, windows.ERROR_PRIVILEGE_NOT_HELD) {
			r.saver.unheld.Store(true)
		}
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	b, err := readCopy(file)
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	return b, nil
}

// readCopy reads a saved copy, refusing one over MaxSave before reading.
func readCopy(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxSave {
		return nil, fmt.Errorf("copy of %d bytes, over %d: %w", st.Size(), MaxSave, ErrTooLarge)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("read the copy: %w", err)
	}
	return b, nil
}

// save runs RegSaveKeyEx on an OS thread of its own, impersonating the
// process with SeBackupPrivilege enabled on that thread's token only. The
// goroutine ends with its thread still locked, so Go ends the thread too
// rather than run anything else on it, whatever became of its token.
func (s *saver) save(k *liveKey, file string) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // and never unlocked
		done <- s.saveOnThread(k, file)
	}()
	return <-done
}

func (s *saver) saveOnThread(k *liveKey, file string) error {
	if err := windows.ImpersonateSelf(windows.SecurityImpersonation); err != nil {
		return fmt.Errorf("impersonate: %w", err)
	}
	// The thread ends with its goroutine, reverted or not.
	defer func() { _ = windows.RevertToSelf() }()
	var tok windows.Token
	if err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_QUERY, true, &tok); err != nil {
		return fmt.Errorf("open the thread token: %w", err)
	}
	defer tok.Close()
	name, _ := windows.UTF16PtrFromString("SeBackupPrivilege")
	var luid windows.LUID
	if err := windows.LookupPrivilegeValue(nil, name, &luid); err != nil {
		return fmt.Errorf("look up SeBackupPrivilege: %w", err)
	}
	enable := windows.Tokenprivileges{PrivilegeCount: 1}
	enable.Privileges[0] = windows.LUIDAndAttributes{Luid: luid, Attributes: windows.SE_PRIVILEGE_ENABLED}
	// Success with ERROR_NOT_ALL_ASSIGNED when the privilege is not held:
	// the save then fails with ERROR_PRIVILEGE_NOT_HELD.
	if err := windows.AdjustTokenPrivileges(tok, false, &enable, 0, nil, nil); err != nil {
		return fmt.Errorf("enable SeBackupPrivilege: %w", err)
	}
	p, err := windows.UTF16PtrFromString(file)
	if err != nil {
		return err
	}
	if r, _, _ := s.proc.Call(uintptr(k.k), uintptr(unsafe.Pointer(p)), 0, regLatestFormat); r != 0 {
		return windows.Errno(r)
	}
	return nil
}

var _ Saver = (*liveRegistry)(nil)
