package agentkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The key file is created with the private DACL and loads back; one
// whose DACL grants Users is refused. (Under Wine, which keeps no DACL,
// the one read back is made from the Unix mode: SYSTEM and the prefix's
// user, who owns the file.)
func TestWindowsKeyACL(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, FileName)
	k, created, err := LoadOrCreate(p, nil)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	sd, err := windows.GetNamedSecurityInfo(p, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("no DACL: %v", err)
	}
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			t.Fatal(err)
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if !sid.IsWellKnown(windows.WinLocalSystemSid) && !sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) &&
			!windows.EqualSid(sid, me.User.Sid) {
			t.Errorf("the new key file's DACL grants %s (%s)", sid, sd)
		}
	}
	if k2, err := Load(p); err != nil || !k2.PublicKey().Equal(k.PublicKey()) {
		t.Fatalf("Load: %v", err)
	}

	// Users may read: refused, left as it is.
	open := filepath.Join(dir, "open.key")
	if err := os.WriteFile(open, mustMarshal(t), 0o600); err != nil {
		t.Fatal(err)
	}
	usersRead, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)(A;;GR;;;BU)(A;;GR;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	d, _, _ := usersRead.DACL()
	if err := windows.SetNamedSecurityInfo(open, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, d, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadOrCreate(open, nil)
	if !errors.Is(err, ErrNotPrivate) || !strings.Contains(err.Error(), "icacls") {
		t.Errorf("key readable by users: err = %v, want ErrNotPrivate with the icacls advice", err)
	}
}

func mustMarshal(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
