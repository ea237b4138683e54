package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		text string // String(); "" for errors
		err  string
	}{
		{in: "6h", want: 6 * time.Hour, text: "6h"},
		{in: " 90s ", want: 90 * time.Second, text: "1m30s"},
		{in: "1h30m", want: 90 * time.Minute, text: "1h30m"},
		{in: "1h0m5s", want: time.Hour + 5*time.Second, text: "1h0m5s"},
		{in: "1.5h", want: 90 * time.Minute, text: "1h30m"},
		{in: "250ms", want: 250 * time.Millisecond, text: "250ms"},
		{in: "0", want: 0, text: "0s"},
		{in: "-2m", want: -2 * time.Minute, text: "-2m"},
		{in: "3600", err: `"3600" has no unit`},
		{in: "6 hours", err: `"6 hours" is not a duration`},
		{in: "", err: `"" is not a duration`},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if tt.err != "" {
			if !strings.Contains(errText(err), tt.err) {
				t.Errorf("ParseDuration(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || time.Duration(d) != tt.want || d.String() != tt.text {
			t.Errorf("ParseDuration(%q) = %v (%q), %v; want %v (%q)", tt.in, time.Duration(d), d.String(), err, tt.want, tt.text)
		}
		if back, err := ParseDuration(d.String()); err != nil || back != d {
			t.Errorf("%q does not read back: %v, %v", d.String(), back, err)
		}
	}
}

// Duration reads and writes as a string in YAML, for other packages that
// put it into their own documents.
func TestDurationYAML(t *testing.T) {
	var v struct {
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("d: 2h30m\n"), &v); err != nil || v.D != Duration(150*time.Minute) {
		t.Fatalf("unmarshal: %v, %v", v.D, err)
	}
	out, err := yaml.Marshal(v)
	if err != nil || string(out) != "d: 2h30m\n" {
		t.Errorf("marshal: %q, %v", out, err)
	}
	for _, bad := range []string{"d: 10\n", "d: [1h]\n"} {
		if err := yaml.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	text, _ := Duration(time.Minute).MarshalText()
	var d Duration
	if err := d.UnmarshalText(text); err != nil || d != Duration(time.Minute) {
		t.Errorf("text round trip %q: %v, %v", text, d, err)
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{in: "104857600", want: 100 << 20},
		{in: "100MiB", want: 100 << 20},
		{in: "100 mib", want: 100 << 20},
		{in: "100MB", want: 100_000_000},
		{in: "1.5GiB", want: 3 << 29},
		{in: "2TiB", want: 2 << 40},
		{in: "512b", want: 512},
		{in: "0.5KiB", want: 512},
		{in: "0.1B", err: "not a whole number of bytes"},
		{in: "MiB", err: "is not a size"},
		{in: "-1MiB", err: "is not a size"},
		{in: "10 furlongs", err: `unknown unit "furlongs"`},
		{in: "9223372036854775807KiB", err: "too large"},
		{in: "1e30GB", err: `unknown unit "e30GB"`},
		{in: "99999999999999999999", err: "too large"},
	}
	for _, tt := range tests {
		n, err := ParseSize(tt.in)
		if tt.err != "" {
			if !strings.Contains(errText(err), tt.err) {
				t.Errorf("ParseSize(%q) = %d, %v; want error %q", tt.in, n, err, tt.err)
			}
			continue
		}
		if err != nil || n != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, n, err, tt.want)
		}
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Errorf("FormatSize(%d) = %q reads back as %d, %v", n, FormatSize(n), back, err)
		}
	}
	for n, want := range map[int64]string{100 << 20: "100MiB", 1 << 30: "1GiB", 1536: "1536", 3 << 10: "3KiB", 1000: "1000", 0: "0"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
