package catalog

import (
	"reflect"
	"strings"
	"testing"
)

// programsCatalog names program folders, processes and drivers in both a
// product and a vendor's technology, with a duplicate across them.
const programsCatalog = `version: "1"
policy: {id: p}
vendors:
  - id: v
    name: V
    brands: [V]
    category: antivirus
    technology:
      windows:
        drivers: [vdrv, 'vflt_*']
        processes: [v.exe]
        program_dirs: ['C:\Program Files (x86)\V Lab', 'C:\Windows\System32\drivers']
      linux:
        processes: [vscan]
        program_dirs: [/opt/v]
products:
  - id: v-av
    vendor: v
    name: V Antivirus
    category: antivirus
    fingerprints:
      windows:
        processes: [vui.exe, v.exe]
        program_dirs: ['C:\Program Files (x86)\V Lab\V AV *']
      linux:
        processes: [vd]
        program_dirs: [/opt/v, '/var/opt/v/install_*']
`

func TestProgramAccessors(t *testing.T) {
	c, err := Parse(strings.NewReader(programsCatalog))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		got  []string
		want []string
	}{
		{"ProgramDirs(windows)", c.ProgramDirs("windows"), []string{`C:\Program Files (x86)\V Lab`, `C:\Program Files (x86)\V Lab\V AV *`, `C:\Windows\System32\drivers`}},
		{"ProgramDirs(linux)", c.ProgramDirs("linux"), []string{"/opt/v", "/var/opt/v/install_*"}},
		{"ProgramDirs(darwin)", c.ProgramDirs("darwin"), nil},
		{"ExecutableNames(windows)", c.ExecutableNames("windows"), []string{"v.exe", "vui.exe"}},
		{"ExecutableNames(linux)", c.ExecutableNames("linux"), []string{"vd", "vscan"}},
		{"DriverNames(windows)", c.DriverNames("windows"), []string{"vdrv", "vflt_*"}},
		{"DriverNames(linux)", c.DriverNames("linux"), nil},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseRejectsBadProgramDirs(t *testing.T) {
	for _, bad := range []string{`C:\Program Files\[`, ` `} {
		doc := strings.Replace(programsCatalog, `program_dirs: [/opt/v]`, `program_dirs: ['`+bad+`']`, 1)
		if _, err := Parse(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), "program_dirs") {
			t.Errorf("program_dirs %q: error %v", bad, err)
		}
	}
}
