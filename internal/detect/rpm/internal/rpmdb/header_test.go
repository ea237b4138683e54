package rpmdb

import (
	"encoding/binary"
	"strings"
	"testing"
)

// hdrEntry is one index entry of a header built by makeHeader.
type hdrEntry struct {
	tag   int32
	typ   uint32
	count uint32 // 0: 1
	data  []byte // the entry's data; for strings, NUL-terminated
	off   *int32 // overrides the computed offset
}

func str(tag int32, s string) hdrEntry {
	return hdrEntry{tag: tag, typ: typeString, data: append([]byte(s), 0)}
}

func i32(tag int32, v int32) hdrEntry {
	return hdrEntry{tag: tag, typ: typeInt32, data: binary.BigEndian.AppendUint32(nil, uint32(v))}
}

// makeHeader lays out a header blob as rpm stores it in its database.
func makeHeader(entries ...hdrEntry) []byte {
	var index, data []byte
	for _, e := range entries {
		if e.typ == typeInt32 {
			for len(data)%4 != 0 {
				data = append(data, 0)
			}
		}
		off := int32(len(data))
		if e.off != nil {
			off = *e.off
		}
		count := e.count
		if count == 0 {
			count = 1
		}
		index = binary.BigEndian.AppendUint32(index, uint32(e.tag))
		index = binary.BigEndian.AppendUint32(index, e.typ)
		index = binary.BigEndian.AppendUint32(index, uint32(off))
		index = binary.BigEndian.AppendUint32(index, count)
		data = append(data, e.data...)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(entries)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return append(append(b, index...), data...)
}

// kaspersky is a header as a Kaspersky package might have it.
func kaspersky() []hdrEntry {
	return []hdrEntry{
		str(tagName, "kesl"), str(tagVersion, "12.1.0"), str(tagRelease, "2968"),
		str(tagVendor, "AO Kaspersky Lab"), str(tagPackager, "Kaspersky <support@kaspersky.com>"),
		str(tagArch, "x86_64"), str(1004, "summary"),
	}
}

func TestParseHeader(t *testing.T) {
	i18n := hdrEntry{tag: tagVendor, typ: typeI18NString, count: 2, data: []byte("Vendor C\x00Vendor de\x00")}
	tests := []struct {
		name       string
		blob       []byte
		want       Package
		evr        string
		detail     string
		wantErrSub string
	}{
		{
			name:   "all fields",
			blob:   makeHeader(kaspersky()...),
			want:   Package{Name: "kesl", Version: "12.1.0", Release: "2968", Arch: "x86_64", Vendor: "AO Kaspersky Lab", Packager: "Kaspersky <support@kaspersky.com>"},
			evr:    "12.1.0-2968",
			detail: "kesl 12.1.0-2968 (vendor AO Kaspersky Lab, x86_64)",
		},
		{
			name:   "epoch",
			blob:   makeHeader(str(tagName, "openssl-libs"), i32(tagEpoch, 1), str(tagVersion, "3.0.7"), str(tagRelease, "27.el9"), str(tagArch, "x86_64")),
			want:   Package{Name: "openssl-libs", Version: "3.0.7", Release: "27.el9", Arch: "x86_64", Epoch: 1},
			evr:    "1:3.0.7-27.el9",
			detail: "openssl-libs 1:3.0.7-27.el9 (x86_64)",
		},
		{
			name:   "epoch zero is not shown",
			blob:   makeHeader(str(tagName, "a"), i32(tagEpoch, 0), str(tagVersion, "1"), str(tagRelease, "2")),
			want:   Package{Name: "a", Version: "1", Release: "2"},
			evr:    "1-2",
			detail: "a 1-2",
		},
		{
			name:   "gpg-pubkey has no arch nor vendor",
			blob:   makeHeader(str(tagName, "gpg-pubkey"), str(tagVersion, "f4a80eb5"), str(tagRelease, "53a7ff4b"), str(tagPackager, "CentOS-7 Key")),
			want:   Package{Name: "gpg-pubkey", Version: "f4a80eb5", Release: "53a7ff4b", Packager: "CentOS-7 Key"},
			evr:    "f4a80eb5-53a7ff4b",
			detail: "gpg-pubkey f4a80eb5-53a7ff4b",
		},
		{
			name:   "vendor only",
			blob:   makeHeader(str(tagName, "a"), str(tagVersion, "1"), str(tagVendor, "V")),
			want:   Package{Name: "a", Version: "1", Vendor: "V"},
			evr:    "1",
			detail: "a 1 (vendor V)",
		},
		{
			name:   "i18n vendor gives the first string",
			blob:   makeHeader(str(tagName, "a"), i18n),
			want:   Package{Name: "a", Vendor: "Vendor C"},
			evr:    "",
			detail: "a (vendor Vendor C)",
		},
		{
			name: "(none) vendor is no vendor",
			blob: makeHeader(str(tagName, "a"), str(tagVendor, "(none)")),
			want: Package{Name: "a"}, detail: "a",
		},
		{
			name: "a later entry replaces an earlier one (dribble)",
			blob: makeHeader(str(tagName, "a"), str(tagVendor, "Old"), str(tagVendor, "New")),
			want: Package{Name: "a", Vendor: "New"}, detail: "a (vendor New)",
		},
		{name: "empty", blob: nil, wantErrSub: "too short"},
		{name: "no entries", blob: make([]byte, 8), wantErrSub: "0 index entries"},
		{name: "too many entries", blob: []byte{0, 1, 0, 0, 0, 0, 0, 0}, wantErrSub: "65536 index entries"},
		{name: "data too long", blob: []byte{0, 0, 0, 1, 0x10, 0, 0, 0}, wantErrSub: "exceeds"},
		{name: "truncated", blob: makeHeader(kaspersky()...)[:40], wantErrSub: "truncated"},
		{name: "no name", blob: makeHeader(str(tagVersion, "1")), wantErrSub: "no package name"},
		{
			name:       "offset outside data",
			blob:       makeHeader(hdrEntry{tag: tagName, typ: typeString, data: []byte("a\x00"), off: ptr(int32(5))}),
			wantErrSub: "outside data",
		},
		{
			name:       "negative offset",
			blob:       makeHeader(hdrEntry{tag: tagName, typ: typeString, data: []byte("a\x00"), off: ptr(int32(-1))}),
			wantErrSub: "outside data",
		},
		{
			name:       "unterminated string",
			blob:       makeHeader(hdrEntry{tag: tagName, typ: typeString, data: []byte("abc")}),
			wantErrSub: "unterminated",
		},
		{
			name:       "string with a count",
			blob:       makeHeader(hdrEntry{tag: tagName, typ: typeString, count: 2, data: []byte("a\x00")}),
			wantErrSub: "count 2",
		},
		{
			name:       "name of the wrong type",
			blob:       makeHeader(i32(tagName, 7)),
			wantErrSub: "want a string",
		},
		{
			name:       "epoch of the wrong type",
			blob:       makeHeader(str(tagName, "a"), str(tagEpoch, "1")),
			wantErrSub: "want int32",
		},
		{
			name:       "epoch misaligned",
			blob:       makeHeader(str(tagName, "a"), hdrEntry{tag: tagEpoch, typ: typeInt32, data: []byte{0, 0, 0, 1, 0}, off: ptr(int32(1))}),
			wantErrSub: "misaligned",
		},
		{
			name:       "epoch past the end",
			blob:       makeHeader(str(tagName, "ab"), hdrEntry{tag: tagEpoch, typ: typeInt32, data: []byte{0, 0}}),
			wantErrSub: "outside data",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHeader(tc.blob)
			if tc.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if tc.evr != "" && got.EVR() != tc.evr {
				t.Errorf("evr() = %q, want %q", got.EVR(), tc.evr)
			}
			if got.Detail() != tc.detail {
				t.Errorf("detail() = %q, want %q", got.Detail(), tc.detail)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
