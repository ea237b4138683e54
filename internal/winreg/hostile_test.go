package winreg

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/hostile"
)

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Hostile .reg files: sections that would build millions of keys stop at
// MaxKeyComponents with an error naming the line; a file of line ends
// alone and one value continued over a million lines parse in memory
// proportional to their size (the work is counted in bytes allocated,
// not timed).
func TestParseRegFileHostile(t *testing.T) {
	t.Run("deep_loop", func(t *testing.T) {
		b := hostile.RegDeepLoop(3000) // 3,000 × 3 sections of 500 levels: 4.5 million key names
		var err error
		n := allocated(func() { _, err = ParseRegFile(bytes.NewReader(b)) })
		var pe *ParseError
		if !errors.Is(err, ErrRegFileTooLarge) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "name more than 1048576 keys") {
			t.Fatalf("err = %v", err)
		}
		t.Logf("%d bytes: %v, %d bytes allocated", len(b), err, n)
		if n > 16*uint64(len(b)) {
			t.Errorf("%d bytes allocated for %d of input", n, len(b))
		}
	})
	t.Run("newlines", func(t *testing.T) {
		b := hostile.RegNewlines(MaxRegFileSize - 100)
		var err error
		var rf *RegFile
		n := allocated(func() { rf, err = ParseRegFile(bytes.NewReader(b)) })
		t.Logf("%d bytes: %v, %d bytes allocated", len(b), err, n)
		if err != nil || len(rf.Keys) != 0 {
			t.Fatalf("%v, %v", rf, err)
		}
		// Reading (the buffer grows to hold the input) and no more: not
		// 16 bytes of line header per line.
		if n > 3*uint64(len(b)) {
			t.Errorf("%d bytes allocated for %d of line ends", n, len(b))
		}
	})
	t.Run("latin1", func(t *testing.T) {
		b := append([]byte("REGEDIT4\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n\"v\"=\""), bytes.Repeat([]byte{0xe9}, MaxRegFileSize-100)...)
		b = append(b, "\"\n"...)
		var err error
		n := allocated(func() { _, err = ParseRegFile(bytes.NewReader(b)) })
		t.Logf("%d bytes: %v, %d bytes allocated", len(b), err, n)
		// Read, widened to UTF-8, unquoted, encoded as UTF-16: a bounded
		// multiple of the input, not a []rune of every byte.
		if n > 24*uint64(len(b)) {
			t.Errorf("%d bytes allocated for %d of Latin-1 text", n, len(b))
		}
	})
	t.Run("continuation", func(t *testing.T) {
		rf, err := ParseRegFile(bytes.NewReader(hostile.RegContinuation(1_000_000)))
		if err != nil || len(rf.Keys) != 1 || len(rf.Keys[0].Values[0].Data) != 1_000_002 {
			t.Fatalf("%v", err)
		}
	})
}

// A key a user filled with subkeys lists the first MaxNames of them, and
// says the rest were not read.
func TestSubKeyNamesBounded(t *testing.T) {
	f := NewFake()
	for i := range MaxNames + 3 {
		f.SetModTime(Users, `S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Uninstall\k`+strconv.Itoa(i), View64, time.Time{})
	}
	k, err := f.OpenKey(Users, `S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Uninstall`, View64)
	if err != nil {
		t.Fatal(err)
	}
	names, err := k.SubKeyNames()
	if len(names) != MaxNames || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 100000 subkeys") {
		t.Errorf("%d names, %v", len(names), err)
	}
}
