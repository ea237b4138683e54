package plist_test

import (
	"errors"
	"testing"

	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/hostile"
	"github.com/avscout/avscout/internal/plist"
)

// FuzzDecode feeds the decoder arbitrary bytes, seeded with real plists
// (binary ones made by plistutil) and the hostile corpus: it must never
// panic, fail only with ErrMalformed or ErrLimit, and stay within its
// budget.
func FuzzDecode(f *testing.F) {
	xml := mactest.EncodeXML(f, sample())
	f.Add(xml)
	f.Add(mactest.ToBinary(f, xml))
	for _, b := range [][]byte{
		hostile.PlistBomb(60), hostile.PlistCycle(), hostile.PlistHugeCount(), hostile.DeepXMLPlist(4096),
		hostile.DeepTextPlist(300), hostile.WidePlist(50), hostile.InfoPlistXML("com.kaspersky.kav", "K", "1", "k"),
		[]byte(`{ a = (b, "c", <00ff>); }`), []byte("bplist00"),
	} {
		f.Add(b)
	}
	lim := plist.Limits{MaxDepth: 32, MaxValues: 10_000, MaxBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := plist.Decode(b, lim)
		if err != nil {
			if !errors.Is(err, plist.ErrMalformed) && !errors.Is(err, plist.ErrLimit) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrLimit", err)
			}
			return
		}
		if n, d := count(v, 1); n > lim.MaxValues || d > lim.MaxDepth+1 {
			t.Fatalf("decoded %d values %d deep, over the limits", n, d)
		}
	})
}

// count returns how many values v holds and how deep it is.
func count(v any, depth int) (int, int) {
	n, deepest := 1, depth
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			c, d := count(x, depth+1)
			n, deepest = n+c, max(deepest, d)
		}
	case map[string]any:
		for _, x := range v {
			c, d := count(x, depth+1)
			n, deepest = n+1+c, max(deepest, d)
		}
	}
	return n, deepest
}
