package macos_test

import (
	"errors"
	"testing"

	"github.com/avscout/avscout/internal/detect/macos"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/hostile"
)

// FuzzDecodePlist feeds the property list decoder arbitrary bytes, seeded
// with real XML and binary plists made by plistutil and with the hostile
// corpus (plist bombs, cycles, deep nesting): it must never panic and must
// fail only with ErrBadPlist.
func FuzzDecodePlist(f *testing.F) {
	info := mactest.InfoPlist("com.kaspersky.kav", "Kaspersky", "21.0", "kav")
	db := mactest.SystemExtensionDB(mactest.SystemExtension{ID: "com.kaspersky.kav.sysext", TeamID: "2Y8XE5CQ94",
		Version: "21", State: "activated_enabled", Category: "com.apple.system_extension.endpoint_security", App: "/Applications/K.app", UniqueID: "U"})
	for _, v := range []any{info, db, mactest.LaunchJob("com.kaspersky.kav", "/bin/kav")} {
		f.Add(mactest.Encode(f, v, mactest.XML))
		f.Add(mactest.Encode(f, v, mactest.Binary))
	}
	for _, s := range []string{"", "bplist00", "<plist><dict/></plist>", "{a=b;}", "(a,b)", "<?xml"} {
		f.Add([]byte(s))
	}
	for _, b := range [][]byte{hostile.PlistBomb(60), hostile.PlistCycle(), hostile.PlistHugeCount(), hostile.DeepXMLPlist(2048), hostile.DeepTextPlist(200)} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := macos.DecodePlist(b)
		if err != nil && !errors.Is(err, macos.ErrBadPlist) {
			t.Fatalf("error %v is not ErrBadPlist", err)
		}
		if err == nil && d == nil {
			t.Fatal("nil dictionary without an error")
		}
		_ = macos.Bundle{}.Title("x.app")
		_ = d.String("CFBundleIdentifier") + d.Dict("bundleVersion").String("CFBundleVersion")
		_ = d.Strings("ProgramArguments")
	})
}
