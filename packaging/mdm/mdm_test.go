package mdm

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"howett.net/plist"

	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/winreg"
)

// The committed generated files are what the generator writes today.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%v (run go generate ./packaging/mdm)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date with the settings table: run go generate ./packaging/mdm", name)
		}
	}
}

// admx is the part of an ADMX file the test reads.
type admx struct {
	Categories []struct {
		Name        string `xml:"name,attr"`
		DisplayName string `xml:"displayName,attr"`
		Parent      struct {
			Ref string `xml:"ref,attr"`
		} `xml:"parentCategory"`
	} `xml:"categories>category"`
	Supported []struct {
		Name        string `xml:"name,attr"`
		DisplayName string `xml:"displayName,attr"`
	} `xml:"supportedOn>definitions>definition"`
	Policies []struct {
		Name         string `xml:"name,attr"`
		Class        string `xml:"class,attr"`
		DisplayName  string `xml:"displayName,attr"`
		ExplainText  string `xml:"explainText,attr"`
		Presentation string `xml:"presentation,attr"`
		Key          string `xml:"key,attr"`
		Parent       struct {
			Ref string `xml:"ref,attr"`
		} `xml:"parentCategory"`
		SupportedOn struct {
			Ref string `xml:"ref,attr"`
		} `xml:"supportedOn"`
		Elements struct {
			Items []struct {
				XMLName   xml.Name
				ID        string `xml:"id,attr"`
				ValueName string `xml:"valueName,attr"`
				Key       string `xml:"key,attr"`
			} `xml:",any"`
		} `xml:"elements"`
	} `xml:"policies>policy"`
}

type adml struct {
	Strings []struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"resources>stringTable>string"`
	Presentations []struct {
		ID    string `xml:"id,attr"`
		Items []struct {
			XMLName xml.Name
			RefID   string `xml:"refId,attr"`
		} `xml:",any"`
	} `xml:"resources>presentationTable>presentation"`
}

// wellFormed decodes the whole document token by token, so any XML error
// anywhere fails.
func wellFormed(t *testing.T, name string, data []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
	}
}

var refRE = regexp.MustCompile(`^\$\((string|presentation)\.([A-Za-z0-9_]+)\)$`)

// The ADMX has one policy per managed, non-secret setting, writing the
// value (or subkey) the agent reads, and every string and presentation it
// references exists in the ADML.
func TestADMXCoversEveryManagedSetting(t *testing.T) {
	admxData, err := os.ReadFile(ADMXFile)
	if err != nil {
		t.Fatal(err)
	}
	admlData, err := os.ReadFile(ADMLFile)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, ADMXFile, admxData)
	wellFormed(t, ADMLFile, admlData)
	var x admx
	if err := xml.Unmarshal(admxData, &x); err != nil {
		t.Fatal(err)
	}
	var l adml
	if err := xml.Unmarshal(admlData, &l); err != nil {
		t.Fatal(err)
	}
	strs := map[string]string{}
	for _, s := range l.Strings {
		if _, dup := strs[s.ID]; dup {
			t.Errorf("ADML string %q defined twice", s.ID)
		}
		strs[s.ID] = s.Text
	}
	pres := map[string][]string{}
	for _, p := range l.Presentations {
		for _, it := range p.Items {
			pres[p.ID] = append(pres[p.ID], it.RefID)
		}
	}
	resolve := func(ref, want string) {
		t.Helper()
		m := refRE.FindStringSubmatch(ref)
		if m == nil || m[1] != want {
			t.Errorf("reference %q is not $(%s.ID)", ref, want)
			return
		}
		if want == "string" {
			if strings.TrimSpace(strs[m[2]]) == "" {
				t.Errorf("ADML lacks string %q", m[2])
			}
		} else if _, ok := pres[m[2]]; !ok {
			t.Errorf("ADML lacks presentation %q", m[2])
		}
	}
	cats := map[string]bool{}
	for _, c := range x.Categories {
		cats[c.Name] = true
		resolve(c.DisplayName, "string")
	}
	for _, s := range x.Supported {
		resolve(s.DisplayName, "string")
	}

	policies := map[string]int{}
	for i, p := range x.Policies {
		policies[p.Name] = i
	}
	for _, s := range config.Settings() {
		i, ok := policies[s.Managed]
		if s.Secret {
			if ok {
				t.Errorf("secret setting %s has a policy: its value would be readable by every user", s.Name)
			}
			continue
		}
		if !ok {
			t.Errorf("managed setting %s (%s) has no ADMX policy", s.Name, s.Managed)
			continue
		}
		p := x.Policies[i]
		if p.Class != "Machine" || !strings.EqualFold(p.Key, config.PolicyKey) {
			t.Errorf("policy %s: class %q key %q, want Machine %s", p.Name, p.Class, p.Key, config.PolicyKey)
		}
		if !cats[p.Parent.Ref] {
			t.Errorf("policy %s: unknown category %q", p.Name, p.Parent.Ref)
		}
		resolve(p.DisplayName, "string")
		resolve(p.ExplainText, "string")
		resolve(p.Presentation, "presentation")
		if m := refRE.FindStringSubmatch(p.ExplainText); m != nil && !strings.Contains(strs[m[2]], s.Help) {
			t.Errorf("policy %s: explanation %q lacks the setting's help %q", p.Name, strs[m[2]], s.Help)
		}
		if len(p.Elements.Items) != 1 {
			t.Errorf("policy %s: %d elements, want 1", p.Name, len(p.Elements.Items))
			continue
		}
		el := p.Elements.Items[0]
		switch el.XMLName.Local {
		case "list":
			if s.Kind != config.KindList && s.Kind != config.KindTags {
				t.Errorf("policy %s: a list for a %s setting", p.Name, s.Kind)
			}
			if !strings.EqualFold(el.Key, config.PolicyKey+`\`+s.Managed) {
				t.Errorf("policy %s: list key %q, want %s\\%s", p.Name, el.Key, config.PolicyKey, s.Managed)
			}
		case "text", "decimal":
			if el.ValueName != s.Managed {
				t.Errorf("policy %s: valueName %q, want %q", p.Name, el.ValueName, s.Managed)
			}
		default:
			t.Errorf("policy %s: unexpected element %s", p.Name, el.XMLName.Local)
		}
		if refs := pres[strings.TrimSuffix(strings.TrimPrefix(p.Presentation, "$(presentation."), ")")]; !slices.Contains(refs, el.ID) {
			t.Errorf("policy %s: presentation lacks a control for element %q (has %v)", p.Name, el.ID, refs)
		}
		delete(policies, s.Managed)
	}
	for name := range policies {
		if !slices.ContainsFunc(config.Settings(), func(s config.Setting) bool { return s.Managed == name }) {
			t.Errorf("policy %s names no setting", name)
		}
	}
}

// regSamples are values an admin would enter in each policy, valid for
// the agent.
var regSamples = map[string]string{
	"CollectorURL":      `"CollectorURL"="https://collector.example.com:8443"`,
	"CollectorProxy":    `"CollectorProxy"="http://proxy.example.com:3128"`,
	"CollectorTimeout":  `"CollectorTimeout"="90s"`,
	"ScheduleInterval":  `"ScheduleInterval"="4h"`,
	"ScheduleJitter":    `"ScheduleJitter"="20m"`,
	"ScheduleSplay":     `"ScheduleSplay"="1m"`,
	"SpoolMaxReports":   `"SpoolMaxReports"=dword:000000c8`,
	"SpoolMaxBytes":     `"SpoolMaxBytes"="50MiB"`,
	"ScanSourceTimeout": `"ScanSourceTimeout"="45s"`,
	"LogLevel":          `"LogLevel"="debug"`,
	"LogFile":           `"LogFile"="C:\\ProgramData\\avscout\\logs\\agent.log"`,
	"LogMaxSizeMB":      `"LogMaxSizeMB"=dword:00000014`,
	"LogMaxFiles":       `"LogMaxFiles"=dword:00000005`,
	"StateDir":          `"StateDir"="C:\\ProgramData\\avscout"`,
}

// What the ADMX's policies write — a value named after each policy, the
// list items as values "1", "2"… of a subkey, tags as name/value pairs of
// the Tags subkey — is what the agent's registry reader takes.
func TestADMXValuesAreReadByTheAgent(t *testing.T) {
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\" + config.PolicyKey + "]\r\n")
	for _, line := range regSamples {
		b.WriteString(line + "\r\n")
	}
	b.WriteString("\r\n[HKEY_LOCAL_MACHINE\\" + config.PolicyKey + "\\ScanSources]\r\n\"1\"=\"uninstall\"\r\n\"2\"=\"services\"\r\n")
	b.WriteString("\r\n[HKEY_LOCAL_MACHINE\\" + config.PolicyKey + "\\Tags]\r\n\"site\"=\"berlin\"\r\n\"department\"=\"it\"\r\n")
	reg := winreg.NewFake()
	if err := reg.Import(strings.NewReader(b.String()), winreg.View64); err != nil {
		t.Fatal(err)
	}
	eff, err := config.Load(config.LoadOptions{OS: config.Windows, Managed: config.FromRegistry(reg), Euid: -1,
		ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
		Stat:     func(string) (os.FileInfo, error) { return nil, os.ErrNotExist }})
	if err != nil {
		t.Fatalf("the agent refuses what the ADMX policies write: %v", err)
	}
	c := eff.Config
	if c.Collector.URL != "https://collector.example.com:8443" || time.Duration(c.Schedule.Interval) != 4*time.Hour ||
		c.Spool.MaxReports != 200 || c.Log.MaxFiles != 5 || !reflect.DeepEqual(c.Scan.Sources, []string{"uninstall", "services"}) ||
		c.Tags["site"] != "berlin" || c.Tags["department"] != "it" || c.Log.Level != "debug" {
		t.Errorf("config from the policies = %+v", c)
	}
	for _, s := range config.Settings() {
		_, sampled := regSamples[s.Managed]
		if (sampled || s.Managed == "ScanSources" || s.Managed == "Tags") && eff.Origin[s.Name] != config.OriginManaged {
			t.Errorf("%s: origin %s, want managed", s.Name, eff.Origin[s.Name])
		}
	}
}

// decodePlist decodes a profile with howett.net/plist and, as a second
// opinion, with libplist's plistutil (XML → binary → XML).
func decodePlist(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, name, data)
	var doc map[string]any
	if _, err := plist.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	tool, err := exec.LookPath("plistutil")
	if err != nil {
		t.Fatal("plistutil not found (scripts/install-deps.sh installs libplist-utils)")
	}
	bin := filepath.Join(t.TempDir(), "p.bin")
	if out, err := exec.Command(tool, "-i", name, "-o", bin, "-f", "bin").CombinedOutput(); err != nil {
		t.Fatalf("plistutil rejects %s: %v\n%s", name, err, out)
	}
	back, err := exec.Command(tool, "-i", bin, "-o", "-", "-f", "xml").Output()
	if err != nil {
		t.Fatalf("plistutil: %v", err)
	}
	var again map[string]any
	if _, err := plist.Unmarshal(back, &again); err != nil {
		t.Fatalf("%s via plistutil: %v", name, err)
	}
	if !reflect.DeepEqual(doc, again) {
		t.Errorf("%s: plistutil and howett.net/plist read different content", name)
	}
	return doc
}

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// payloads returns the top dictionary and its payloads.
func payloads(t *testing.T, name string, doc map[string]any) []map[string]any {
	t.Helper()
	if doc["PayloadType"] != "Configuration" || doc["PayloadScope"] != "System" {
		t.Errorf("%s: top PayloadType %v scope %v, want a System Configuration", name, doc["PayloadType"], doc["PayloadScope"])
	}
	var out []map[string]any
	arr, _ := doc["PayloadContent"].([]any)
	for _, p := range arr {
		if m, ok := p.(map[string]any); ok {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no payloads", name)
	}
	return out
}

// Every profile is a valid plist for both parsers, with unique, well-formed
// PayloadUUIDs and identifiers, and the payloads the MDMs expect.
func TestProfiles(t *testing.T) {
	files, _ := filepath.Glob("jamf/*.mobileconfig")
	if len(files) != 3 {
		t.Fatalf("profiles: %v, want 3", files)
	}
	uuids := map[string]string{}
	ids := map[string]string{}
	byType := map[string]map[string]any{}
	for _, f := range files {
		doc := decodePlist(t, f)
		all := append([]map[string]any{doc}, payloads(t, f, doc)...)
		for _, p := range all {
			u, _ := p["PayloadUUID"].(string)
			if !uuidRE.MatchString(u) {
				t.Errorf("%s: PayloadUUID %q is not an upper-case UUID", f, u)
			}
			if prev, dup := uuids[u]; dup {
				t.Errorf("%s: PayloadUUID %s also in %s", f, u, prev)
			}
			uuids[u] = f
			id, _ := p["PayloadIdentifier"].(string)
			if !strings.HasPrefix(id, config.BundleID+".") {
				t.Errorf("%s: PayloadIdentifier %q not under %s", f, id, config.BundleID)
			}
			if prev, dup := ids[id]; dup {
				t.Errorf("%s: PayloadIdentifier %s also in %s", f, id, prev)
			}
			ids[id] = f
			if v, _ := p["PayloadVersion"].(uint64); v != 1 {
				t.Errorf("%s: PayloadVersion %v", f, p["PayloadVersion"])
			}
			if typ, _ := p["PayloadType"].(string); typ != "Configuration" {
				byType[typ] = p
			}
		}
	}

	tcc := byType["com.apple.TCC.configuration-profile-policy"]
	fda, _ := tcc["Services"].(map[string]any)["SystemPolicyAllFiles"].([]any)
	if len(fda) != 1 {
		t.Fatalf("PPPC SystemPolicyAllFiles = %v", fda)
	}
	id := fda[0].(map[string]any)
	if id["Identifier"] != "/opt/avscout/bin/avscout" || id["IdentifierType"] != "path" || id["Allowed"] != true ||
		!strings.Contains(id["CodeRequirement"].(string), `certificate leaf[subject.OU] = "TEAMID"`) {
		t.Errorf("PPPC identity = %v", id)
	}

	sm := byType["com.apple.servicemanagement"]
	rules := map[string]string{}
	for _, r := range sm["Rules"].([]any) {
		m := r.(map[string]any)
		rules[m["RuleType"].(string)] = m["RuleValue"].(string)
	}
	if rules["Label"] != "io.avscout.agent" || rules["TeamIdentifier"] != "TEAMID" {
		t.Errorf("background item rules = %v", rules)
	}

	prefs := byType["com.apple.ManagedClient.preferences"]
	settings := prefs["PayloadContent"].(map[string]any)[config.BundleID].(map[string]any)["Forced"].([]any)[0].(map[string]any)["mcx_preference_settings"].(map[string]any)
	for _, s := range config.Settings() {
		if _, ok := settings[s.Managed]; ok == s.Secret {
			t.Errorf("settings profile: key %s (secret %v) present %v", s.Managed, s.Secret, ok)
		}
		delete(settings, s.Managed)
	}
	for k := range settings {
		t.Errorf("settings profile: key %s names no setting", k)
	}
}

// The settings profile's values, as macOS writes them to
// /Library/Managed Preferences/io.avscout.agent.plist, are accepted by the
// agent's managed-preferences reader and its config checks.
func TestSettingsProfileIsAcceptedByTheAgent(t *testing.T) {
	doc := decodePlist(t, SettingsProfileFile)
	prefs := payloads(t, SettingsProfileFile, doc)[0]
	settings := prefs["PayloadContent"].(map[string]any)[config.BundleID].(map[string]any)["Forced"].([]any)[0].(map[string]any)["mcx_preference_settings"]
	// What the managed preferences file holds: the settings dictionary.
	data, err := plist.Marshal(settings, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	managed, err := config.FromPlist(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the agent cannot read the profile's settings: %v", err)
	}
	eff, err := config.Load(config.LoadOptions{OS: config.Darwin, Managed: managed, Euid: -1,
		ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
		Stat:     func(string) (os.FileInfo, error) { return nil, os.ErrNotExist }})
	if err != nil {
		t.Fatalf("the agent refuses the profile's settings: %v", err)
	}
	want := config.Defaults(config.Darwin)
	want.Collector.URL = "https://avscout-collector.example.com"
	want.Tags = map[string]string{"site": "example-site"}
	if !reflect.DeepEqual(eff.Config, want) {
		t.Errorf("config from the profile:\n got %+v\nwant %+v", eff.Config, want)
	}
	// The token is delivered apart from the profile: its absence is the
	// one expected warning.
	for _, w := range eff.Warnings {
		if !strings.Contains(w, "no enrollment token") {
			t.Errorf("warning: %s", w)
		}
	}
}

// The PowerShell scripts cannot run here (no PowerShell on Debian 12):
// they are kept tiny, and this checks what they call and pass on.
func TestPowerShellScripts(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"intune/detect-restricted.ps1", []string{"$env:ProgramW6432", `'avscout\avscout.exe'`,
			"& $avscout status --format intune-remediation\n", "exit $LASTEXITCODE\n", "exit 1\n", "OutputEncoding = [System.Text.Encoding]::UTF8"}},
		{"intune/compliance-discovery.ps1", []string{"$env:ProgramW6432", `'avscout\avscout.exe'`,
			"& $avscout status --format intune-compliance\n", "ConvertTo-Json -Compress", "exit 0\n", "OutputEncoding = [System.Text.Encoding]::UTF8"}},
		{"intune/detection.ps1", []string{"$env:ProgramW6432", `'avscout\avscout.exe'`, "RegistryView]::Registry64",
			`OpenSubKey('SOFTWARE\avscout')`, "GetValue('Version')", "Write-Output"}},
		{"sccm/detect.ps1", []string{"$env:ProgramW6432", `'avscout\avscout.exe'`, "RegistryView]::Registry64",
			`OpenSubKey('SOFTWARE\avscout')`, "GetValue('Version')", "Get-Service -Name 'avscout'", "Write-Output", "exit 0\n"}},
		{"sccm/discover-restricted.ps1", []string{"$env:ProgramW6432", `'avscout\avscout.exe'`,
			"& $avscout status --format intune-remediation\n", "exit 0\n", "OutputEncoding = [System.Text.Encoding]::UTF8"}},
		{"intune/remediate-restricted.ps1", append([]string{
			`$log = Join-Path $env:ProgramData 'Microsoft\IntuneManagementExtension\Logs\avscout-remediate.log'` + "\n"}, remediateWants...)},
		{"sccm/remediate.ps1", append([]string{"param([string]$Product = '')\n",
			`$log = Join-Path $env:windir 'CCM\Logs\avscout-remediate.log'` + "\n"}, remediateWants...)},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s lacks %q", tc.file, w)
			}
		}
		// Nothing may go to stderr (Intune: script error; ConfigMgr: unknown).
		// Nor may a command line be built from anything but constants.
		for _, bad := range []string{"Write-Error", "Write-Warning", "Write-Host", "throw", "$env:ProgramFiles\\", "\r",
			"Invoke-Expression", "iex ", "cmd.exe", "cmd /c", "Start-Process", "-EncodedCommand"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s holds %q", tc.file, bad)
			}
		}
		if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
			t.Errorf("%s starts with a BOM (Intune's signature check wants UTF-8 without)", tc.file)
		}
		if s := strings.Count(s, "exit"); s == 0 {
			t.Errorf("%s never exits with a code", tc.file)
		}
	}
}

// compliance-rules.json follows the custom compliance format: known
// operators and data types, operands of the data type, en_US strings.
func TestComplianceRulesFormat(t *testing.T) {
	f, err := os.Open(ComplianceRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules, err := ParseComplianceRules(f)
	if err != nil {
		t.Fatal(err)
	}
	ops := []string{"IsEquals", "NotEquals", "GreaterThan", "GreaterEquals", "LessThan", "LessEquals"}
	for _, r := range rules {
		if !slices.Contains(ops, r.Operator) {
			t.Errorf("%s: operator %q", r.SettingName, r.Operator)
		}
		var ok bool
		switch r.DataType {
		case "Boolean":
			_, ok = r.Operand.(bool)
		case "Int64", "Double":
			_, ok = r.Operand.(float64)
		case "String", "Version", "DateTime":
			_, ok = r.Operand.(string)
		}
		if !ok {
			t.Errorf("%s: operand %v (%T) does not fit data type %q", r.SettingName, r.Operand, r.Operand, r.DataType)
		}
		if !strings.HasPrefix(r.MoreInfoURL, "https://") {
			t.Errorf("%s: MoreInfoUrl %q", r.SettingName, r.MoreInfoURL)
		}
		if !slices.ContainsFunc(r.RemediationStrings, func(s RemediationString) bool {
			return s.Language == "en_US" && s.Title != "" && s.Description != ""
		}) {
			t.Errorf("%s: no en_US remediation string", r.SettingName)
		}
	}
	if len(rules) == 0 {
		t.Error("no rules")
	}
}

// What the remediation scripts (Intune, SCCM) must hold: the agent called
// with constant words and a checked product ID only, its stdout and
// stderr read apart (in UTF-8, both at once), a bounded, private log, a
// bounded one-line summary, the agent's exit code passed on.
var remediateWants = []string{
	"$env:ProgramW6432", `'avscout\avscout.exe'`,
	"$arguments = 'remediate --execute --yes --format jamf'\n",
	"$Product -cnotmatch '^[a-z0-9][a-z0-9.-]{0,127}\\z'",
	"if ($Product -ne '') { $arguments += ' --product ' + $Product }\n",
	"$psi.Arguments = $arguments\n", "$psi.UseShellExecute = $false\n",
	"$psi.RedirectStandardError = $true\n", "$psi.StandardOutputEncoding = $utf8\n", "ReadToEndAsync()",
	"$maxLogBytes = 1048576\n", "Move-Item -LiteralPath $log -Destination ($log + '.1')", "SetAccessRuleProtection($true, $false)",
	"'S-1-5-18', 'S-1-5-32-544'", "$maxOutput = 2048\n", "$line.Substring(0, $maxOutput)", "$err.Substring($err.Length - $maxRunChars)",
	"Restart-Service -Name 'avscout' -ErrorAction Stop -WarningAction SilentlyContinue", "exit $code\n", "exit 2\n", "exit 1\n",
}

// The Intune and SCCM remediation scripts are one script with their own
// header: from the settings on, they must not drift apart; and the
// product is checked before it can reach the command line.
func TestRemediationScriptsAgree(t *testing.T) {
	body := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		i := strings.Index(s, "$ErrorActionPreference = 'Stop'\n")
		if i < 0 {
			t.Fatalf("%s: no settings line", name)
		}
		check, use := strings.Index(s, "$Product -cnotmatch"), strings.Index(s, "$arguments += ' --product ' + $Product")
		if check < 0 || use < 0 || check > use || !strings.Contains(s[check:use], "exit 2\n") {
			t.Errorf("%s: $Product is not checked (and refused) before it is used", name)
		}
		return s[i:]
	}
	if body("intune/remediate-restricted.ps1") != body("sccm/remediate.ps1") {
		t.Error("intune/remediate-restricted.ps1 and sccm/remediate.ps1 differ after their headers: keep them one script")
	}
}
