package dpkgtest

import "testing"

func TestControl(t *testing.T) {
	tests := []struct {
		name string
		pkg  Pkg
		want string
	}{
		{
			name: "defaults",
			pkg:  Pkg{Name: "kasumi", Version: "2.5-10"},
			want: "Package: kasumi\nVersion: 2.5-10\nArchitecture: all\nSection: misc\nPriority: optional\nDescription: kasumi test package\n",
		},
		{
			name: "long_description",
			pkg: Pkg{
				Name: "kesl", Version: "12.1.0-2968", Architecture: "amd64",
				Maintainer:  "AO Kaspersky Lab <support@kaspersky.com>",
				Description: "Kaspersky Endpoint Security for Linux\nFirst paragraph.\n\nSecond paragraph.\n",
			},
			want: "Package: kesl\nVersion: 12.1.0-2968\nArchitecture: amd64\n" +
				"Maintainer: AO Kaspersky Lab <support@kaspersky.com>\nSection: misc\nPriority: optional\n" +
				"Description: Kaspersky Endpoint Security for Linux\n First paragraph.\n .\n Second paragraph.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Control(tt.pkg); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
