// Package winregtest holds what the registry packages' tests share: a
// comparison of two registry keys, whole, so that a copy of a key (saved,
// parsed, imported) is checked against the key it came from.
package winregtest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/avscout/avscout/internal/winreg"
)

// Same compares two keys' subkeys and values, recursively, and when times
// is set the last-write times of those that hold values.
func Same(t testing.TB, path string, got, want winreg.Key, times bool) {
	t.Helper()
	gn, err1 := got.SubKeyNames()
	wn, err2 := want.SubKeyNames()
	slices.Sort(gn)
	slices.Sort(wn)
	if err1 != nil || err2 != nil || !slices.Equal(gn, wn) {
		t.Fatalf("%s: subkeys %q (%v), want %q (%v)", path, gn, err1, wn, err2)
	}
	gv, err1 := got.ValueNames()
	wv, err2 := want.ValueNames()
	slices.Sort(gv)
	slices.Sort(wv)
	if err1 != nil || err2 != nil || !slices.Equal(gv, wv) {
		t.Fatalf("%s: values %q (%v), want %q (%v)", path, gv, err1, wv, err2)
	}
	for _, name := range wv {
		g, err1 := got.Value(name)
		w, err2 := want.Value(name)
		if err1 != nil || err2 != nil || g.Type != w.Type || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s value %q: %v % x (%v), want %v % x (%v)", path, name, g.Type, g.Data, err1, w.Type, w.Data, err2)
		}
	}
	if times && len(wv) > 0 { // Wine saves no time for a key it writes only as its subkeys' path
		gt, err1 := got.ModTime()
		wt, err2 := want.ModTime()
		if err1 != nil || err2 != nil || !gt.Equal(wt) {
			t.Errorf("%s: last written %v (%v), want %v (%v)", path, gt, err1, wt, err2)
		}
	}
	for _, name := range wn {
		gs, err1 := got.OpenSubKey(name)
		ws, err2 := want.OpenSubKey(name)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s\\%s: %v, %v", path, name, err1, err2)
		}
		Same(t, path+`\`+name, gs, ws, times)
		gs.Close()
		ws.Close()
	}
}
