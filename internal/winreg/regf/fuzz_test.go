package regf

import (
	"bytes"
	"slices"
	"testing"

	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

// FuzzOpen opens arbitrary bytes as a hive and walks the whole tree
// within small limits, reading every value: nothing may panic, hang or
// allocate without bound. The seeds are the hives the other tests read:
// the empty hive, hivex's hives of testdata/types.reg and of many
// subkeys, and those restructured into index roots and big data records.
func FuzzOpen(f *testing.F) {
	f.Add(regftest.EmptyHive("ROOT"))
	types := typesHive(f)
	f.Add([]byte(types))
	many := readHive(f, regftest.SoftwarePrefix, manyReg(70)) // over indexMin
	f.Add([]byte(restructure(f, slices.Clone(many), "Many", "lf", 8)))
	f.Add([]byte(restructure(f, slices.Clone(many), "Many", "li", 16)))
	big := make([]byte, 20000)
	var hex bytes.Buffer
	for i := range big {
		if i > 0 {
			hex.WriteByte(',')
		}
		hex.WriteString("ab")
	}
	bigHive := readHive(f, regftest.SoftwarePrefix, "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Big]\n\"Large\"=hex:"+hex.String()+"\n")
	f.Add([]byte(toBigData(f, bigHive, "Big", "Large")))
	f.Fuzz(func(t *testing.T, b []byte) {
		opts := Options{MaxDepth: 16, MaxSubKeys: 200, MaxValues: 200, MaxCells: 20000, MaxValueSize: 1 << 16, CachePages: 8}
		h, err := Open(bytes.NewReader(b), int64(len(b)), "FUZZ", opts)
		if err != nil {
			return
		}
		root, err := h.Root()
		if err != nil {
			return
		}
		budget := 2000
		_, _, _ = walk(root, 0, &budget) // only a panic fails: a fuzzed hive may well be corrupt
	})
}
