package pe

import (
	"testing"

	"github.com/avscout/avscout/internal/detect"
)

func TestExecutablePath(t *testing.T) {
	tests := []struct {
		name string
		kind detect.Kind
		path string
		want string // "" when none
	}{
		{"process_exact", detect.KindProcess, `C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe`, `C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe`},
		{"process_keeps_spaces", detect.KindProcess, `C:\Program Files\My App\run me.exe`, `C:\Program Files\My App\run me.exe`},
		{"process_not_executable", detect.KindProcess, `C:\Windows\notes.txt`, ""},
		{"service_quoted_with_args", detect.KindService, `"C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe" -r`, `C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe`},
		{"service_unquoted_with_args", detect.KindService, `C:\Program Files\Kaspersky Lab\NetworkAgent\klnagent.exe -svc -x`, `C:\Program Files\Kaspersky Lab\NetworkAgent\klnagent.exe`},
		{"service_dotted_folder", detect.KindService, `C:\Program Files\Vendor.Product 2\svc.exe /service`, `C:\Program Files\Vendor.Product 2\svc.exe`},
		{"service_svchost", detect.KindService, `%SystemRoot%\system32\svchost.exe -k netsvcs -p`, `C:\Windows\system32\svchost.exe`},
		{"driver_systemroot", detect.KindDriver, `\SystemRoot\System32\drivers\klif.sys`, `C:\Windows\System32\drivers\klif.sys`},
		{"driver_relative", detect.KindDriver, `system32\DRIVERS\klflt.sys`, `C:\Windows\system32\DRIVERS\klflt.sys`},
		{"driver_nt_prefix", detect.KindDriver, `\??\C:\Windows\system32\drivers\klhk.sys`, `C:\Windows\system32\drivers\klhk.sys`},
		{"driver_unc_refused", detect.KindDriver, `\??\UNC\server\share\x.sys`, ""},
		{"driver_unknown_variable", detect.KindDriver, `%MyVar%\x.sys`, ""},
		{"service_relative_other", detect.KindService, `svchost.exe -k x`, ""},
		{"app_install_folder_skipped", detect.KindApp, `C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\`, ""},
		{"app_icon_path", detect.KindApp, `C:\Program Files\Parallels\Parallels Internet Security Powered by Kaspersky\avp.exe,0`, `C:\Program Files\Parallels\Parallels Internet Security Powered by Kaspersky\avp.exe`},
		{"program_files_variable", detect.KindService, `"%ProgramFiles(x86)%\Kaspersky Lab\KES\avp.exe"`, `C:\Program Files (x86)\Kaspersky Lab\KES\avp.exe`},
		{"other_kinds_ignored", detect.KindPath, `C:\x.exe`, ""},
		// Files the paths source found in program folders: plain paths.
		{"executable_in_program_folder", detect.KindExecutable, `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`, `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`},
		{"executable_com", detect.KindExecutable, `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.com`, `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.com`},
		{"executable_linux_path", detect.KindExecutable, `/opt/kaspersky/kesl/libexec/kesl`, ""},
		{"driver_file_in_drivers_folder", detect.KindDriver, `C:\Windows\System32\drivers\klif.sys`, `C:\Windows\System32\drivers\klif.sys`},
		{"driver_file_in_program_folder", detect.KindDriver, `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\x64\klif.sys`, `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\x64\klif.sys`},
		{"empty", detect.KindService, ``, ""},
		{"drive_relative_refused", detect.KindProcess, `C:x.exe`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ExecutablePath(detect.Observation{Kind: tc.kind, Path: tc.path}, "C:")
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("got %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
	if got, _ := ExecutablePath(detect.Observation{Kind: detect.KindDriver, Path: `\SystemRoot\x.sys`}, "D:"); got != `D:\Windows\x.sys` {
		t.Errorf("drive not used: %q", got)
	}
	if !Wants(detect.Observation{Kind: detect.KindService, Path: `"C:\a b\c.exe" x`}) || Wants(detect.Observation{Kind: detect.KindApp, Path: `C:\a b\`}) ||
		!Wants(detect.Observation{Kind: detect.KindExecutable, Path: `C:\a b\c.exe`}) {
		t.Error("Wants disagrees with ExecutablePath")
	}
}
