package pe

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

func osTrust() TrustChecker { return winTrust{} }

// winTrust asks WinVerifyTrust with the generic Authenticode policy, without
// UI, without revocation checks and without network retrieval: a scan must
// neither prompt nor wait on a certificate server.
type winTrust struct{}

func (winTrust) CheckTrust(path string) Verdict {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return Verdict{Reason: fmt.Sprintf("bad path: %v", err)}
	}
	file := &windows.WinTrustFileInfo{
		Size:     uint32(unsafe.Sizeof(windows.WinTrustFileInfo{})),
		FilePath: p,
	}
	data := &windows.WinTrustData{
		Size:                            uint32(unsafe.Sizeof(windows.WinTrustData{})),
		UIChoice:                        windows.WTD_UI_NONE,
		RevocationChecks:                windows.WTD_REVOKE_NONE,
		UnionChoice:                     windows.WTD_CHOICE_FILE,
		StateAction:                     windows.WTD_STATEACTION_VERIFY,
		FileOrCatalogOrBlobOrSgnrOrCert: unsafe.Pointer(file),
		ProvFlags:                       windows.WTD_CACHE_ONLY_URL_RETRIEVAL | windows.WTD_REVOCATION_CHECK_NONE,
	}
	verr := windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	data.StateAction = windows.WTD_STATEACTION_CLOSE
	_ = windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	runtime.KeepAlive(file)
	if verr == nil {
		return Verdict{Checked: true, Trusted: true}
	}
	var errno windows.Errno
	if errors.As(verr, &errno) {
		return Verdict{Checked: true, Reason: trustReason(uint32(errno))}
	}
	return Verdict{Reason: verr.Error()}
}
