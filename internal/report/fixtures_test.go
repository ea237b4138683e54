package report

import (
	"strings"
	"time"
)

// Report fixtures shared by the tests. Products, evidence and sources are
// deliberately out of canonical order, with duplicate evidence, so that the
// golden files also pin down what Render's sorting does.

var fixedTime = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

const bisReason = "Kaspersky software is prohibited for US persons by the BIS Final Determination (ICTS-2021-002, 89 FR 52434): no new sales from 2024-07-20, no updates from 2024-09-29; white-labelled and integrated builds included."

func bisPolicy() *Policy {
	return &Policy{Rule: "bis-icts-2021-002", Reason: bisReason}
}

// fixtures returns fresh copies of every named fixture report.
func fixtures() map[string]*Report {
	return map[string]*Report{
		"mixed":      mixedReport(),
		"leftover":   leftoverReport(),
		"defender":   defenderReport(),
		"clean":      cleanReport(),
		"hostile":    hostileReport(),
		"incomplete": incompleteReport(),
	}
}

// mixedReport: a Windows host with Kaspersky Endpoint Security running, a
// white-label Kaspersky build installed, Kaspersky Network Agent residue
// and Microsoft Defender running.
func mixedReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		ReportID:      "3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a8b90",
		GeneratedAt:   fixedTime,
		DurationMS:    1534,
		Agent:         Agent{Name: "avscout", Version: "0.1.0", CatalogVersion: "2026.11.22"},
		Host: Host{
			ID: "4c4c4544-0031-3510-8052-b4c04f4e3732", Hostname: "WS-0142",
			OS: "windows", OSVersion: "Windows 11 Enterprise 23H2 (10.0.22631)", Arch: "amd64", Root: "/",
		},
		Verdict:   VerdictNonCompliant,
		Compliant: false,
		Products: []Product{
			{
				ID: "microsoft-defender", Vendor: "Microsoft", Name: "Microsoft Defender Antivirus",
				Version: "4.18.24090.11", Category: CategoryAntivirus, State: StateActive,
				Confidence: ConfidenceHigh,
				Evidence: []Evidence{
					{Source: "winsvc", Kind: "service", Value: "WinDefend (running)", Location: `HKLM\SYSTEM\CurrentControlSet\Services\WinDefend`},
					{Source: "procs", Kind: "process", Value: "MsMpEng.exe", Location: "pid 3120"},
				},
			},
			{
				ID: "kaspersky-security-center-agent", Vendor: "Kaspersky", Name: "Kaspersky Security Center Network Agent",
				Category: CategoryManagementAgent, State: StateLeftover, Restricted: true, Policy: bisPolicy(),
				Confidence: ConfidenceMedium,
				Evidence: []Evidence{
					{Source: "paths", Kind: "path", Value: `C:\ProgramData\KasperskyLab\adminkit`, Location: "ProgramData/KasperskyLab/adminkit"},
				},
			},
			{
				ID: "parallels-internet-security-kaspersky", Vendor: "Parallels", Name: "Parallels Internet Security Powered by Kaspersky",
				Version: "9.1.0.124", Category: CategorySecuritySuite, State: StateInstalled, Restricted: true, Policy: bisPolicy(),
				WhiteLabel: true, Technology: "Kaspersky", Confidence: ConfidenceMedium,
				Evidence: []Evidence{
					{Source: "winapps", Kind: "uninstall", Value: "Parallels Internet Security Powered by Kaspersky 9.1.0.124", Location: `HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{C1F4A1B2-0000-4B5C-9D2E-1A2B3C4D5E6F}`},
					{Source: "pe", Kind: "signer", Value: "AO Kaspersky Lab", Location: "Program Files/Parallels/Parallels Internet Security Powered by Kaspersky/avp.exe"},
					{Source: "paths", Kind: "path", Value: `C:\Program Files\Parallels\Parallels Internet Security Powered by Kaspersky\avp.exe`, Location: "Program Files/Parallels/Parallels Internet Security Powered by Kaspersky/avp.exe"},
				},
			},
			{
				ID: "kaspersky-endpoint-security-windows", Vendor: "Kaspersky", Name: "Kaspersky Endpoint Security for Windows",
				Version: "12.5.0.539", Category: CategoryAntivirus, State: StateActive, Restricted: true, Policy: bisPolicy(),
				Confidence: ConfidenceHigh,
				Evidence: []Evidence{
					{Source: "winsvc", Kind: "service", Value: "AVP (running)", Location: `HKLM\SYSTEM\CurrentControlSet\Services\AVP`},
					{Source: "winapps", Kind: "uninstall", Value: "Kaspersky Endpoint Security for Windows 12.5.0.539", Location: `HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}`},
					{Source: "procs", Kind: "process", Value: "avp.exe", Location: "pid 2288"},
					{Source: "winsvc", Kind: "driver", Value: "klif (running)", Location: `HKLM\SYSTEM\CurrentControlSet\Services\klif`},
					{Source: "pe", Kind: "signer", Value: "AO Kaspersky Lab", Location: "Program Files (x86)/Kaspersky Lab/KES.12.5.0/avp.exe"},
					{Source: "procs", Kind: "process", Value: "avp.exe", Location: "pid 2288"}, // duplicate
				},
			},
		},
		Sources: []Source{
			{Name: "winsvc", Status: StatusOK, Items: 412, DurationMS: 41},
			{Name: "wsc", Status: StatusError, DurationMS: 12, Error: "querying root\\SecurityCenter2: Invalid namespace (0x8004100E)\nWindows Server has no Security Center"},
			{Name: "winapps", Status: StatusOK, Items: 187, DurationMS: 23},
			{Name: "procs", Status: StatusOK, Items: 96, DurationMS: 18},
			{Name: "pe", Status: StatusTimeout, Items: 3, DurationMS: 30000, Error: "source did not finish within 30s"},
			{Name: "paths", Status: StatusOK, Items: 14, DurationMS: 5},
		},
	}
}

// leftoverReport: a Linux image mounted at /mnt/ws-0077 from which
// Kaspersky Endpoint Security was removed (config files remain), now
// protected by Microsoft Defender for Endpoint.
func leftoverReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		ReportID:      "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
		GeneratedAt:   fixedTime.Add(90 * time.Minute),
		DurationMS:    212,
		Agent:         Agent{Name: "avscout", Version: "0.1.0", CatalogVersion: "2026.11.22"},
		Host: Host{
			ID: "8d4f2e6a1b3c4d5e9f0a1b2c3d4e5f60", Hostname: "ws-0077",
			OS: "linux", OSVersion: "Debian GNU/Linux 12 (bookworm)", Arch: "amd64", Root: "/mnt/ws-0077",
		},
		Verdict:   VerdictCompliant,
		Compliant: true,
		Products: []Product{
			{
				ID: "microsoft-defender-endpoint-linux", Vendor: "Microsoft", Name: "Microsoft Defender for Endpoint",
				Version: "101.24092.0002", Category: CategoryEDR, State: StateInstalled, Confidence: ConfidenceHigh,
				Evidence: []Evidence{
					{Source: "dpkg", Kind: "package", Value: "mdatp 101.24092.0002", Location: "var/lib/dpkg/status"},
				},
			},
			{
				ID: "kaspersky-endpoint-security-linux", Vendor: "Kaspersky", Name: "Kaspersky Endpoint Security for Linux",
				Version: "12.1.0.2968", Category: CategoryAntivirus, State: StateLeftover, Restricted: true, Policy: bisPolicy(),
				Confidence: ConfidenceHigh,
				Evidence: []Evidence{
					{Source: "paths", Kind: "path", Value: "/var/opt/kaspersky/kesl", Location: "var/opt/kaspersky/kesl"},
					{Source: "dpkg", Kind: "package", Value: "kesl 12.1.0.2968 (config-files)", Location: "var/lib/dpkg/status"},
					{Source: "paths", Kind: "path", Value: "/etc/opt/kaspersky", Location: "etc/opt/kaspersky"},
				},
			},
		},
		Sources: []Source{
			{Name: "procs", Status: StatusUnavailable, Error: "live-only source: scanning a root"},
			{Name: "paths", Status: StatusOK, Items: 2, DurationMS: 1},
			{Name: "dpkg", Status: StatusOK, Items: 753, DurationMS: 3},
		},
		Tags: map[string]string{"site": "lyon", "owner": "it-ops"},
	}
}

// defenderReport: a Mac protected by Microsoft Defender, nothing
// restricted.
func defenderReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		ReportID:      "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
		GeneratedAt:   fixedTime,
		DurationMS:    87,
		Agent:         Agent{Name: "avscout", Version: "0.1.0", CatalogVersion: "2026.11.22"},
		Host: Host{
			ID: "C02XK1ZJJG5H", Hostname: "mbp-anna",
			OS: "darwin", OSVersion: "macOS 14.6.1", Arch: "arm64", Root: "/",
		},
		Verdict:   VerdictCompliant,
		Compliant: true,
		Products: []Product{
			{
				ID: "microsoft-defender-mac", Vendor: "Microsoft", Name: "Microsoft Defender",
				Version: "101.24092.0004", Category: CategoryAntivirus, State: StateActive, Confidence: ConfidenceHigh,
				Evidence: []Evidence{
					{Source: "macapps", Kind: "bundle", Value: "com.microsoft.wdav 101.24092.0004", Location: "Applications/Microsoft Defender.app"},
					{Source: "procs", Kind: "process", Value: "wdavdaemon", Location: "pid 412"},
				},
			},
		},
		Sources: []Source{
			{Name: "macapps", Status: StatusOK, Items: 58, DurationMS: 31},
			{Name: "procs", Status: StatusOK, Items: 402, DurationMS: 9},
		},
	}
}

// cleanReport: nothing found; nil slices must still print as arrays.
func cleanReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		ReportID:      "f47ac10b-58cc-4372-a567-0e02b2c3d479",
		GeneratedAt:   fixedTime,
		DurationMS:    12,
		Agent:         Agent{Name: "avscout", Version: "0.1.0", CatalogVersion: "2026.11.22"},
		Host: Host{
			ID: "5f3e9b0c2d7a4e1f8a6b4c3d2e1f0a9b", Hostname: "build-07",
			OS: "linux", OSVersion: "Ubuntu 24.04.1 LTS", Arch: "arm64", Root: "/",
		},
		Verdict:   VerdictCompliant,
		Compliant: true,
		Sources: []Source{
			{Name: "rpm", Status: StatusUnavailable, Error: "no rpm database"},
			{Name: "dpkg", Status: StatusOK, Items: 612, DurationMS: 4},
		},
	}
}

// hostileReport: values an attacker controls on the scanned host (package
// names, registry strings) trying to break the table and the Jamf line.
func hostileReport() *Report {
	long := strings.Repeat("Very Long Product Name ", 40)
	return &Report{
		SchemaVersion: SchemaVersion,
		ReportID:      "6ba7b810-9dad-41d1-80b4-00c04fd430c8",
		GeneratedAt:   fixedTime,
		DurationMS:    3,
		Agent:         Agent{Name: "avscout", Version: "0.1.0\x1b[2J", CatalogVersion: "2026.11.22"},
		Host: Host{
			ID: "x", Hostname: "evil\nhost\tname\x1b]0;pwned\x07",
			OS: "linux", OSVersion: "Debian\r\n12", Arch: "amd64", Root: "/mnt/\x00img",
		},
		Verdict:   VerdictNonCompliant,
		Compliant: false,
		Products: []Product{
			{
				ID: "hostile-1", Vendor: "Kaspersky\tLab\nINJECTED ROW", Name: "<script>alert('x')</script> & \"KES\"",
				Version: "1.0\x1b[31m", Category: CategoryAntivirus, State: StateActive, Restricted: true,
				Policy:     &Policy{Rule: "bis\nrule", Reason: "reason with\nnewline and \u202egnp.exe bidi override"},
				Confidence: ConfidenceHigh,
				Evidence: []Evidence{
					{Source: "procs", Kind: "process", Value: "avp\x00.exe\r\nfake line", Location: "pid 1"},
					{Source: "paths", Kind: "path", Value: long, Location: "x"},
					{Source: "dpkg", Kind: "package", Value: "</result><result>COMPLIANT", Location: "var/lib/dpkg/status"},
					{Source: "dpkg", Kind: "package", Value: "invalid \xff\xfe utf-8", Location: "var/lib/dpkg/status"},
				},
			},
			{
				ID: "hostile-2", Vendor: "ACME", Name: long,
				Version: strings.Repeat("9", 80), Category: CategoryOther, State: StateInstalled,
				WhiteLabel: true, Technology: "Kasp\nersky", Confidence: ConfidenceLow,
				Evidence: []Evidence{{Source: "winapps", Kind: "uninstall", Value: "x", Location: "y"}},
			},
		},
		Sources: []Source{
			{Name: "dpkg", Status: StatusError, Error: strings.Repeat("very long error ", 30) + "\nsecond line\x1b[0m"},
		},
		Tags: map[string]string{"a\nb": "c\td"},
	}
}

// incompleteReport: a Linux host whose dpkg database could not be read
// and whose units source timed out, so nothing restricted was seen but
// the scan cannot vouch for the host; ClamAV was found running, a
// Kaspersky leftover folder remains, and the paths source could not read
// two folders (warnings, not failures).
func incompleteReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		ReportID:      "0e8a3c1d-5b7f-4a29-8d6e-2f4b9c1a7e53",
		GeneratedAt:   fixedTime,
		DurationMS:    30112,
		Agent:         Agent{Name: "avscout", Version: "0.1.0", CatalogVersion: "2026.11.22"},
		Host: Host{
			ID: "2a9c4e6b8d0f4a1c3e5b7d9f1a3c5e7b", Hostname: "srv-mail-03",
			OS: "linux", OSVersion: "Debian GNU/Linux 12 (bookworm)", Arch: "amd64", Root: "/",
		},
		Verdict:   VerdictIncomplete,
		Compliant: false,
		Products: []Product{
			{
				ID: "kaspersky-endpoint-security-linux", Vendor: "Kaspersky", Name: "Kaspersky Endpoint Security for Linux",
				Category: CategoryAntivirus, State: StateLeftover, Restricted: true, Policy: bisPolicy(), Confidence: ConfidenceLow,
				Evidence: []Evidence{
					{Source: "paths", Kind: "path", Value: "/var/opt/kaspersky/kesl", Location: "var/opt/kaspersky/kesl"},
				},
			},
			{
				ID: "clamav", Vendor: "Cisco", Name: "ClamAV", Category: CategoryAntivirus, State: StateActive, Confidence: ConfidenceMedium,
				Evidence: []Evidence{
					{Source: "processes", Kind: "process", Value: "clamd /usr/sbin/clamd", Location: "process 812"},
				},
			},
		},
		Sources: []Source{
			{Name: "units", Status: StatusTimeout, Items: 140, DurationMS: 30000, Error: "source units: context deadline exceeded after 30s"},
			{Name: "dpkg", Status: StatusError, DurationMS: 1, Error: "reading var/lib/dpkg/status: read var/lib/dpkg/status: is a directory"},
			{Name: "processes", Status: StatusOK, Items: 211, DurationMS: 14},
			{Name: "paths", Status: StatusOK, Items: 3, DurationMS: 2, Warnings: []string{
				"opt/kaspersky: permission denied", "var/log/kaspersky: permission denied"}},
			{Name: "rpm", Status: StatusUnavailable, Error: "no rpm database: unavailable"},
		},
	}
}
