package pe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/pe/petest"
)

func TestParseVersionInfo(t *testing.T) {
	const v12 = "12.3.0.493"
	tests := []struct {
		name  string
		blob  []byte
		check func(*testing.T, *VersionInfo)
	}{
		{
			name: "english_table_wins",
			// The Russian table first: English wins wherever it is.
			blob: petest.VersionInfo(v12, v12,
				petest.Table{Lang: "041904b0", Strings: [][2]string{{"CompanyName", "АО «Лаборатория Касперского»"}, {"ProductName", "Kaspersky Endpoint Security для Windows"}, {"Comments", "только по-русски"}}},
				english([2]string{"CompanyName", "AO Kaspersky Lab"}, [2]string{"ProductName", "Kaspersky Endpoint Security for Windows"}),
			),
			check: func(t *testing.T, vi *VersionInfo) {
				if vi.CompanyName != "AO Kaspersky Lab" || vi.ProductName != "Kaspersky Endpoint Security for Windows" {
					t.Errorf("got %q / %q", vi.CompanyName, vi.ProductName)
				}
				if vi.Strings["Comments"] != "только по-русски" {
					t.Errorf("a key only the other table has is lost: %v", vi.Strings)
				}
			},
		},
		{
			name: "fixed_info_only",
			blob: petest.VersionInfo("21.3.10.391", "21.3.0.0"),
			check: func(t *testing.T, vi *VersionInfo) {
				if vi.FixedFileVersion != "21.3.10.391" || vi.FixedProductVersion != "21.3.0.0" || vi.CompanyName != "" {
					t.Errorf("got %+v", vi)
				}
			},
		},
		{
			name: "value_length_in_bytes",
			// Some resource compilers count wValueLength in bytes for
			// strings; the text must still end at its NUL, not be cut.
			blob: func() []byte {
				n := petest.StringBlock("CompanyName", "AO Kaspersky Lab")
				n.ValueLen *= 2
				st := petest.Block{Key: "040904b0", Text: true, Children: []petest.Block{n, petest.StringBlock("ProductName", "KES")}}
				sfi := petest.Block{Key: "StringFileInfo", Text: true, Children: []petest.Block{st}}
				return petest.Block{Key: "VS_VERSION_INFO", Children: []petest.Block{sfi}}.Bytes()
			}(),
			check: func(t *testing.T, vi *VersionInfo) {
				if vi.CompanyName != "AO Kaspersky Lab" || vi.ProductName != "KES" {
					t.Errorf("got %+v", vi)
				}
			},
		},
		{
			name: "empty_and_control_strings",
			blob: petest.VersionInfo(v12, v12, english([2]string{"CompanyName", ""},
				[2]string{"ProductName", "  Line one\nline\ttwo  "}, [2]string{"Comments", strings.Repeat("x", 2000)})),
			check: func(t *testing.T, vi *VersionInfo) {
				if _, ok := vi.Strings["CompanyName"]; ok {
					t.Errorf("empty string kept: %v", vi.Strings)
				}
				if vi.ProductName != "Line one line two" {
					t.Errorf("ProductName %q", vi.ProductName)
				}
				if len(vi.Strings["Comments"]) != maxStringLen {
					t.Errorf("long string not cut: %d bytes", len(vi.Strings["Comments"]))
				}
			},
		},
		{
			name: "too_many_strings",
			blob: func() []byte {
				var kv [][2]string
				for i := range 200 {
					kv = append(kv, [2]string{"Key" + strings.Repeat("k", i%7) + string(rune('A'+i%26)) + string(rune('a'+i/26)), "v"})
				}
				return petest.VersionInfo(v12, v12, english(kv...))
			}(),
			check: func(t *testing.T, vi *VersionInfo) {
				if len(vi.Strings) != maxStrings {
					t.Errorf("%d strings kept, want %d", len(vi.Strings), maxStrings)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vi, err := ParseVersionInfo(tc.blob)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, vi)
		})
	}
}

func TestParseVersionInfoErrors(t *testing.T) {
	good := kesVersion()
	for _, tc := range []struct {
		name string
		blob []byte
	}{
		{"empty", nil},
		{"short", good[:4]},
		{"wrong_key", petest.Block{Key: "VS_VERSION_INFX"}.Bytes()},
		{"truncated", good[:len(good)/2]},
		{"length_below_header", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint16(b, 3); return b }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseVersionInfo(tc.blob); !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v, want ErrMalformed", err)
			}
		})
	}
}

// A child block whose length runs past its parent, or is too short, ends
// the walk of that parent without losing what came before.
func TestParseVersionInfoBrokenChild(t *testing.T) {
	product := petest.StringBlock("ProductName", "KES")
	st := petest.Block{Key: "040904b0", Text: true, Children: []petest.Block{petest.StringBlock("CompanyName", "AO Kaspersky Lab"), product}}
	sfi := petest.Block{Key: "StringFileInfo", Text: true, Children: []petest.Block{st}}
	b := petest.Block{Key: "VS_VERSION_INFO", Children: []petest.Block{sfi}}.Bytes()
	i := bytes.Index(b, product.Bytes())
	binary.LittleEndian.PutUint16(b[i:], 2) // the ProductName block claims 2 bytes
	vi, err := ParseVersionInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if vi.CompanyName != "AO Kaspersky Lab" || vi.ProductName != "" {
		t.Errorf("got %+v", vi)
	}
}
