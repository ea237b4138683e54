package remediate

import (
	"strings"
	"testing"
)

// Who may change the program an administrator is about to run: only
// SYSTEM, Administrators and TrustedInstaller, as owner or through the
// DACL. The entries are those of a default Program Files folder (from
// icacls on Windows 11) and of the hostile cases the review named.
func TestCheckWriters(t *testing.T) {
	const (
		system  = "S-1-5-18"
		admins  = "S-1-5-32-544"
		ti      = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
		users   = "S-1-5-32-545"
		authn   = "S-1-5-11"
		creator = "S-1-3-0"
		bob     = "S-1-5-21-1-2-3-1001"
	)
	programFiles := []ACE{
		{Type: "allow", SID: ti, Mask: 0x1f01ff},
		{Type: "allow", SID: system, Mask: 0x1301bf},
		{Type: "allow", SID: admins, Mask: 0x1301bf},
		{Type: "allow", SID: users, Mask: 0x1200a9},
		{Type: "allow", SID: creator, Mask: 0x10000000, InheritOnly: true},
		{Type: "allow", SID: "S-1-15-2-1", Mask: 0x1200a9}, // ALL APPLICATION PACKAGES
	}
	for _, tc := range []struct {
		name string
		sec  Security
		want string // in the error; "" when trusted
	}{
		{"program_files_default", Security{Owner: ti, ACEs: programFiles}, ""},
		{"owned_by_admins", Security{Owner: admins, ACEs: programFiles}, ""},
		{"users_modify", Security{Owner: admins, ACEs: append(programFiles[:4:4], ACE{Type: "allow", SID: users, Mask: 0x1301bf})}, "lets " + users},
		{"authenticated_users_append", Security{Owner: admins, ACEs: []ACE{{Type: "allow", SID: authn, Mask: 0x4}}}, "lets " + authn},
		{"user_delete_child", Security{Owner: system, ACEs: []ACE{{Type: "allow", SID: bob, Mask: 0x40}}}, "lets " + bob},
		{"user_generic_all", Security{Owner: system, ACEs: []ACE{{Type: "allow", SID: bob, Mask: 0x10000000}}}, "lets " + bob},
		{"user_write_dac", Security{Owner: system, ACEs: []ACE{{Type: "allow", SID: bob, Mask: 0x40000}}}, "lets " + bob},
		{"owned_by_user", Security{Owner: bob, ACEs: programFiles}, "owned by " + bob},
		{"null_dacl", Security{Owner: system, NullDACL: true}, "no DACL"},
		{"unknown_ace_type", Security{Owner: system, ACEs: []ACE{{Type: "9", Mask: 0x1f01ff}}}, "type 9"},
		{"deny_only", Security{Owner: system, ACEs: []ACE{{Type: "deny", SID: users, Mask: 0x1f01ff}}}, ""},
		// The administrator running the check owns what they created.
		{"owned_by_self", Security{Self: bob, Owner: bob, ACEs: []ACE{{Type: "allow", SID: bob, Mask: 0x1f01ff}}}, ""},
		{"owned_by_other_user", Security{Self: bob, Owner: "S-1-5-21-1-2-3-1002", ACEs: programFiles}, "owned by S-1-5-21-1-2-3-1002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkWriters(`C:\Program Files\K\u.exe`, tc.sec)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// The msiexec log folder must also not be readable by users: Program
// Files' default entries (Users may read) are refused there.
func TestCheckPrivate(t *testing.T) {
	const system, admins, users = "S-1-5-18", "S-1-5-32-544", "S-1-5-32-545"
	private := Security{Owner: admins, ACEs: []ACE{{Type: "allow", SID: system, Mask: 0x1f01ff}, {Type: "allow", SID: admins, Mask: 0x1f01ff}}}
	if err := checkPrivate(`C:\ProgramData\avscout\remediate`, private); err != nil {
		t.Errorf("the folder as avscout creates it: %v", err)
	}
	readable := private
	readable.ACEs = append(readable.ACEs[:2:2], ACE{Type: "allow", SID: users, Mask: 0x1200a9})
	if err := checkPrivate(`C:\ProgramData\avscout\remediate`, readable); err == nil || !strings.Contains(err.Error(), users) {
		t.Errorf("a folder users can read: %v", err)
	}
	if err := checkWriters(`C:\Program Files\K\u.exe`, readable); err != nil {
		t.Errorf("reading is fine for a program: %v", err)
	}
}
