package rootpath

import (
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/host"
)

func TestTarget(t *testing.T) {
	tests := []struct {
		os      host.OS
		in      string
		want    string
		wantErr string
	}{
		{host.Linux, "/opt/kaspersky", "opt/kaspersky", ""},
		{host.Linux, "/opt/kaspersky/", "opt/kaspersky", ""},
		{host.Linux, "//opt//kaspersky/./kesl", "opt/kaspersky/kesl", ""},
		{host.Linux, "/../../etc/passwd", "etc/passwd", ""},
		{host.Linux, "/", ".", ""},
		{host.Linux, "opt/kaspersky", "", "not an absolute path"},
		{host.Linux, "~/kaspersky", "", "not an absolute path"},
		{host.Linux, `C:\Program Files`, "", "not an absolute path"},
		{host.Darwin, "/Library/Application Support/Kaspersky Lab", "Library/Application Support/Kaspersky Lab", ""},
		{host.Windows, `C:\Program Files (x86)\Kaspersky Lab`, "Program Files (x86)/Kaspersky Lab", ""},
		{host.Windows, `c:/Program Files/Kaspersky Lab/`, "Program Files/Kaspersky Lab", ""},
		{host.Windows, `D:\Kaspersky`, "Kaspersky", ""},
		{host.Windows, `\ProgramData\Kaspersky Lab`, "ProgramData/Kaspersky Lab", ""},
		{host.Windows, `C:\`, ".", ""},
		{host.Windows, `C:\..\Windows`, "Windows", ""},
		{host.Windows, `C:Kaspersky`, "", "not an absolute path"},
		{host.Windows, `Kaspersky Lab`, "", "not an absolute path"},
		{host.Windows, `%ProgramFiles%\Kaspersky Lab`, "", "environment variables"},
		{host.Windows, `\\?\C:\Kaspersky`, "", "UNC"},
		{host.Windows, `\\fileserver\share`, "", "UNC"},
	}
	for _, tt := range tests {
		got, err := Target(tt.os, tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Target(%s, %q) = %q, %v; want error %q", tt.os, tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Target(%s, %q) = %q, %v; want %q", tt.os, tt.in, got, err, tt.want)
		}
	}
}
