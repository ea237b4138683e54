package remediate

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The splitting rules are those Microsoft documents for
// CommandLineToArgvW and the C runtime ("Parsing C command-line
// arguments"); the cases are that page's examples plus uninstall strings
// of the shapes the scenario corpus and real hosts hold.
func TestSplitWindows(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"msi_braces", `MsiExec.exe /I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`, []string{"MsiExec.exe", "/I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}"}},
		{"quoted_program", `"C:\Program Files (x86)\Kaspersky Lab\KTS 21.3\uninstall.exe" /S`, []string{`C:\Program Files (x86)\Kaspersky Lab\KTS 21.3\uninstall.exe`, "/S"}},
		{"program_keeps_backslash_before_quote", `"C:\a\"b c`, []string{`C:\a\`, "b", "c"}},
		{"crt_example_1", `prog "a b c" d e`, []string{"prog", "a b c", "d", "e"}},
		{"crt_example_2", `prog "ab\"c" "\\" d`, []string{"prog", `ab"c`, `\`, "d"}},
		{"crt_example_3", `prog a\\\b d"e f"g h`, []string{"prog", `a\\\b`, "de fg", "h"}},
		{"crt_example_4", `prog a\\\"b c d`, []string{"prog", `a\"b`, "c", "d"}},
		{"crt_example_5", `prog a\\\\"b c" d e`, []string{"prog", `a\\b c`, "d", "e"}},
		{"doubled_quote_in_quotes", `prog "a""b"`, []string{"prog", `a"b`}},
		{"tabs_and_trailing_space", "prog\ta  b \t", []string{"prog", "a", "b"}},
		{"unclosed_program_quote", `"C:\x y`, []string{`C:\x y`}},
		{"program_only", `C:\x\u.exe`, []string{`C:\x\u.exe`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitWindows(tc.in)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("SplitWindows(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// QuoteWindows is SplitWindows's inverse, whatever the arguments hold.
func TestQuoteWindowsRoundTrip(t *testing.T) {
	for _, argv := range [][]string{
		{`C:\Windows\System32\msiexec.exe`, "/x", "{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}", "/qn", "/l*v", `C:\Windows\Temp\a b.log`},
		{`C:\Program Files\X\u.exe`, `a"b`, `c\`, `d\\"e`, "", `"`, `\`, `x y\`},
		{"p", "& del /q C:\\*", "|", "%PATH%"},
	} {
		line := QuoteWindows(argv)
		if got := SplitWindows(line); !slices.Equal(got, argv) {
			t.Errorf("SplitWindows(QuoteWindows(%q)) = %q (line %s)", argv, got, line)
		}
	}
}

func TestQuotePOSIX(t *testing.T) {
	got := QuotePOSIX([]string{"apt-get", "purge", "-y", "kesl", "/Library/Application Support/x", "it's", "", "a{b,c}"})
	want := `apt-get purge -y kesl '/Library/Application Support/x' 'it'\''s' '' 'a{b,c}'`
	if got != want {
		t.Fatalf("QuotePOSIX = %s, want %s", got, want)
	}
}

// Uninstall strings are evidence from the host's registry: anything a
// shell (or a program handing its arguments to one) would act on is
// refused, with the reason, and what is let through is split exactly.
func TestParseUninstall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		want   []string
		reason string // in the error; "" when accepted
	}{
		{"msi", `MsiExec.exe /X{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}`, []string{"MsiExec.exe", "/X{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}"}, ""},
		{"quoted_exe_with_args", `"C:\Program Files\Hearthward\uninstall.exe" /S`, []string{`C:\Program Files\Hearthward\uninstall.exe`, "/S"}, ""},
		{"quoted_argument", `"C:\Program Files\K\u.exe" /log "C:\a b\c.log"`, []string{`C:\Program Files\K\u.exe`, "/log", `C:\a b\c.log`}, ""},
		{"x86_slashes_canonical", `"c:/Program Files (x86)/K/u.exe" /S`, []string{`C:\Program Files (x86)\K\u.exe`, "/S"}, ""},
		{"ampersand_del", `"C:\P\u.exe" & del /q C:\Windows\*`, nil, `"&"`},
		{"ampersand_inside_quotes", `"C:\P & Q\u.exe" /S`, nil, `"&"`},
		{"pipe", `C:\P\u.exe | more`, nil, `"|"`},
		{"redirect", `C:\P\u.exe > C:\x`, nil, `">"`},
		{"env_var", `%ProgramFiles%\X\u.exe`, nil, `"%"`},
		{"caret_escape", `C:\P\u.exe ^& calc`, nil, `"^"`},
		{"cmd_interpreter", `C:\Windows\System32\cmd.exe /c C:\P\u.exe`, nil, "command interpreter"},
		{"powershell", `powershell -enc AAAA`, nil, "command interpreter"},
		{"rundll32", `rundll32.exe C:\x.dll,Uninstall`, nil, "command interpreter"},
		{"relative_program", `uninstall.exe /S`, nil, "not an absolute local path"},
		{"unc_program", `\\server\share\u.exe`, nil, "network share"},
		{"batch_file", `C:\P\remove.bat`, nil, "not an .exe"},
		{"program_files_batch", `"C:\Program Files\K\remove.cmd"`, nil, "not an .exe"},
		{"program_files_msi", `"C:\Program Files\K\remove.msi"`, nil, "not an .exe"},
		{"user_profile", `"C:\Users\Public\AppData\Local\Programs\X\uninstall.exe"`, nil, "not under C:\\Program Files"},
		{"windows_temp", `C:\Windows\Temp\u.exe`, nil, "not under C:\\Program Files"},
		{"dotdot", `C:\P\..\Windows\u.exe`, nil, "not a plain path"},
		{"slash_dotdot", `C:\Windows/../Users/Public/evil.exe`, nil, "not a plain path"},
		{"backslash_dotdot_slash", `C:\Windows\../Users/Public/evil.exe`, nil, "not a plain path"},
		{"dot", `"C:\Program Files\.\K\u.exe"`, nil, "not a plain path"},
		{"double_separator", `"C:\Program Files\\K\u.exe"`, nil, "not a plain path"},
		{"trailing_dot", `C:\Users.\Public\evil.exe`, nil, "dot or space"},
		{"trailing_space", `"C:\Users \Public\evil.exe"`, nil, "dot or space"},
		{"trailing_dot_exe", `"C:\Program Files\K\u.exe."`, nil, "dot or space"},
		{"short_name", `C:\PROGRA~1\K\u.exe`, nil, "short name"},
		{"stream", `"C:\Program Files\K\u.exe:x.exe"`, nil, "stream"},
		{"documents_and_settings", `"C:\Documents and Settings\Public\evil.exe"`, nil, "not under C:\\Program Files"},
		{"programdata", `"C:\ProgramData\Package Cache\x\setup.exe" /uninstall`, nil, "not under C:\\Program Files"},
		{"drive_root_folder", `C:\Tools\x.exe`, nil, "not under C:\\Program Files"},
		{"program_files_prefix", `"C:\Program Files Evil\x.exe"`, nil, "not under C:\\Program Files"},
		{"other_drive", `"D:\Program Files\K\u.exe"`, nil, "not under C:\\Program Files"},
		{"wmic", `C:\Windows\System32\wbem\WMIC.exe process call create calc.exe`, nil, "command interpreter"},
		{"reg", `C:\Windows\System32\reg.exe delete HKLM\SOFTWARE\X /f`, nil, "command interpreter"},
		{"msbuild", `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\MSBuild.exe C:\x.proj`, nil, "command interpreter"},
		{"powershell_ise", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell_ise.exe -File C:\x.ps1`, nil, "command interpreter"},
		{"huge", `C:\P\u.exe ` + strings.Repeat("A", 600), nil, "cut short"},
		{"clipped_by_scanner", `"C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Securi...`, nil, "cut short"},
		{"empty", "  ", nil, "empty"},
		{"newline", "C:\\P\\u.exe\r\ncalc.exe", nil, `"\r"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUninstall(tc.in)
			if tc.reason == "" {
				if err != nil || !slices.Equal(got, tc.want) {
					t.Fatalf("parseUninstall(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil || !errors.Is(err, errNotPlain) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("parseUninstall(%q) = %q, %v; want an error saying %s", tc.in, got, err, tc.reason)
			}
		})
	}
}

func TestMSIProductCode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`MsiExec.exe /I{9a017278-f7f4-4df9-a482-0b9b4d1f0f54}`, "{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}"},
		{`msiexec /x {2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B} /qn`, "{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}"},
		{`msiexec /i package.msi`, ""},
		{`msiexec /x {2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B`, ""},
		{`msiexec /x{ZZZZBEDA-E0D7-4DAF-A224-50D2E0B12F5B}`, ""},
		{`msiexec /I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54} /x{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}`, ""},
		{`msiexec /x {2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B} /I{2924beda-e0d7-4daf-a224-50d2e0b12f5b}`, "{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}"},
	} {
		if got := msiProductCode(SplitWindows(tc.in)); got != tc.want {
			t.Errorf("msiProductCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
