package hostile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// BinaryPlist writes a binary property list ("bplist00") of objects, the
// top one being top. Each object is an already encoded object (marker and
// content, references as single bytes): [Array], [Dict], [ASCII].
// References are one byte, so at most 256 objects.
func BinaryPlist(objects [][]byte, top int) []byte {
	var b bytes.Buffer
	b.WriteString("bplist00")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		b.Write(o)
	}
	table := b.Len()
	offSize := 1
	if table > 0xff {
		offSize = 2
	}
	if table > 0xffff {
		offSize = 4
	}
	for _, o := range offsets {
		var tmp [4]byte
		binary.BigEndian.PutUint32(tmp[:], uint32(o))
		b.Write(tmp[4-offSize:])
	}
	var t [32]byte
	t[6], t[7] = byte(offSize), 1
	binary.BigEndian.PutUint64(t[8:], uint64(len(objects)))
	binary.BigEndian.PutUint64(t[16:], uint64(top))
	binary.BigEndian.PutUint64(t[24:], uint64(table))
	b.Write(t[:])
	return b.Bytes()
}

// ASCII encodes a short ASCII string object (under 15 bytes).
func ASCII(s string) []byte {
	if len(s) >= 15 {
		panic("hostile.ASCII: string too long")
	}
	return append([]byte{0x50 | byte(len(s))}, s...)
}

// Array encodes an array object of up to 14 one-byte references.
func Array(refs ...int) []byte {
	out := []byte{0xa0 | byte(len(refs))}
	for _, r := range refs {
		out = append(out, byte(r))
	}
	return out
}

// Dict encodes a dictionary object of up to 14 entries from key and value
// references, keys first.
func Dict(keys, values []int) []byte {
	out := []byte{0xd0 | byte(len(keys))}
	for _, k := range keys {
		out = append(out, byte(k))
	}
	for _, v := range values {
		out = append(out, byte(v))
	}
	return out
}

// PlistBomb is the binary plist bomb: levels arrays, each holding two
// references to the one below, under a dictionary that looks like an
// Info.plist. It is a few hundred bytes (641 with 60 levels, as found in
// the issue) and expands to 2^levels values in a decoder that follows
// every reference.
func PlistBomb(levels int) []byte {
	// 0: "leaf", 1..levels: arrays, then the keys and the top dictionary.
	objs := [][]byte{ASCII("leaf")}
	for i := 1; i <= levels; i++ {
		objs = append(objs, Array(i-1, i-1))
	}
	k1 := len(objs)
	objs = append(objs, ASCII("CFBundleIdentifier"[:14]), ASCII("com.evil.aaa"), ASCII("Bomb"))
	objs = append(objs, Dict([]int{k1, k1 + 2}, []int{k1 + 1, levels}))
	return BinaryPlist(objs, len(objs)-1)
}

// PlistCycle is a binary plist whose top dictionary holds an array that
// holds itself.
func PlistCycle() []byte {
	// 0 key, 1 array [1], 2 dict {0: 1}
	return BinaryPlist([][]byte{ASCII("Loop"), Array(1), Dict([]int{0}, []int{1})}, 2)
}

// PlistHugeCount is a binary plist whose array claims 2^62 elements.
func PlistHugeCount() []byte {
	arr := []byte{0xaf, 0x13, 0x40, 0, 0, 0, 0, 0, 0, 0, 0}
	return BinaryPlist([][]byte{ASCII("Big"), arr, Dict([]int{0}, []int{1})}, 2)
}

// DeepXMLPlist is an XML property list of nested arrays, never closed,
// size bytes long (the was 4.99 MiB).
func DeepXMLPlist(size int) []byte {
	head := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<plist version="1.0">` + "\n"
	n := (size - len(head)) / len("<array>")
	return []byte(head + strings.Repeat("<array>", max(n, 0)))
}

// DeepTextPlist is an OpenStep property list of n nested arrays.
func DeepTextPlist(n int) []byte {
	return []byte(strings.Repeat("(", n) + strings.Repeat(")", n))
}

// WidePlist is an XML property list whose top dictionary holds one array
// of n empty strings: many values, each a few bytes.
func WidePlist(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Wide</key><array>`)
	for range n {
		b.WriteString("<string/>")
	}
	b.WriteString("</array></dict></plist>")
	return b.Bytes()
}

// InfoPlistXML is a plain XML Info.plist.
func InfoPlistXML(id, name, version, exe string) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleExecutable</key>
	<string>%s</string>
	<key>CFBundleIdentifier</key>
	<string>%s</string>
	<key>CFBundleName</key>
	<string>%s</string>
	<key>CFBundleShortVersionString</key>
	<string>%s</string>
</dict>
</plist>
`, exe, id, name, version))
}
