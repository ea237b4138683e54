package hostile

import (
	"bytes"
	"fmt"
	"strings"
)

// RegDeepLoop is a .reg export of n sections, each a key 500 levels deep
// under its own parent, each followed by the deletion and re-creation of
// its top: a few MiB of text that makes a registry built from it hold
// n × 500 keys, and a replay create and delete them over and over.
func RegDeepLoop(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Windows Registry Editor Version 5.00\r\n\r\n")
	deep := strings.Repeat(`\a`, 500)
	for i := range n {
		fmt.Fprintf(&b, "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Loop%d%s]\r\n\"v\"=dword:00000001\r\n\r\n", i, deep)
		fmt.Fprintf(&b, "[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Loop%d]\r\n\r\n", i)
		fmt.Fprintf(&b, "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Loop%d%s]\r\n\r\n", i, deep)
	}
	return b.Bytes()
}

// RegNewlines is a .reg export of a header and then size bytes of line
// ends: a parser that splits it into lines first holds millions of them.
func RegNewlines(size int) []byte {
	return append([]byte("REGEDIT4\n"), bytes.Repeat([]byte("\n"), size)...)
}

// RegContinuation is a .reg export whose one binary value continues over
// n lines ending in a backslash.
func RegContinuation(n int) []byte {
	var b bytes.Buffer
	b.WriteString("REGEDIT4\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n\"v\"=hex:00,\\\n")
	for range n {
		b.WriteString("  00,\\\n")
	}
	b.WriteString("  00\n")
	return b.Bytes()
}
