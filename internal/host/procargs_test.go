package host

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseProcArgs2(t *testing.T) {
	const kav = "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav"
	const kis = "/Applications/Kaspersky Internet Security.app/Contents/MacOS/Kaspersky Internet Security"
	for _, tt := range []struct {
		file    string
		want    ProcArgs
		wantErr bool
	}{
		{"kav-daemon.bin", ProcArgs{Exe: kav, Args: []string{"kav", "-bl"}}, false},
		{"launchd.bin", ProcArgs{Exe: "/sbin/launchd", Args: []string{"/sbin/launchd"}}, false},
		{"falcond-env-withheld.bin", ProcArgs{Exe: "/Library/CS/falcond", Args: []string{"/Library/CS/falcond"}}, false},
		{"empty-argv0.bin", ProcArgs{Exe: "/bin/sl", Args: []string{"", "30"}}, false},
		{"relative.bin", ProcArgs{Exe: "./agent", Args: []string{"./agent", "--config", "/etc/agent.conf"}}, false},
		{"app-with-spaces.bin", ProcArgs{Exe: kis, Args: []string{kis, "-psn_0_12345"}}, false},
		{"truncated.bin", ProcArgs{Exe: kav, Args: []string{"kav"}}, true},
	} {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "procargs2", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseProcArgs2(b)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrProcArgs)) {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseProcArgs2Hostile(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short":         {1, 0, 0},
		"negative_argc": {0xff, 0xff, 0xff, 0xff, '/', 0},
		"no_path_end":   append([]byte{1, 0, 0, 0}, "/bin/x"...),
		"in_padding":    append([]byte{1, 0, 0, 0}, "/bin/x\x00"...),
		"argc_too_big":  append([]byte{0xff, 0xff, 0xff, 0x7f}, "/bin/x\x00\x00a\x00b\x00"...),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseProcArgs2(b); !errors.Is(err, ErrProcArgs) {
				t.Errorf("err = %v", err)
			}
		})
	}
	// Padding that is not NUL: a layout we do not know; the arguments are
	// taken from the first non-NUL byte.
	b := append([]byte{1, 0, 0, 0}, "/bin/x\x00Zarg\x00"...)
	if got, err := ParseProcArgs2(b); err != nil || !reflect.DeepEqual(got.Args, []string{"Zarg"}) {
		t.Errorf("odd padding: %+v, %v", got, err)
	}
	// The executable_path= key, had the kernel left it.
	b = append([]byte{1, 0, 0, 0}, "executable_path=/bin/x\x00\x00a\x00"...)
	if got, _ := ParseProcArgs2(b); got.Exe != "/bin/x" || !reflect.DeepEqual(got.Args, []string{"a"}) {
		t.Errorf("keyed: %+v", got)
	}
	// At most maxProcArgs arguments are kept.
	many := []byte{0, 0, 0, 1}
	many = append(many, "/x\x00\x00\x00\x00\x00\x00"...)
	for range 1 << 9 {
		many = append(many, "a\x00"...)
	}
	if got, err := ParseProcArgs2(many); err != nil || len(got.Args) != maxProcArgs {
		t.Errorf("%d args, %v", len(got.Args), err)
	}
}

func TestCommName(t *testing.T) {
	var c [17]byte
	copy(c[:], "klnagent_srv_dae")
	if got := commName(c[:]); got != "klnagent_srv_dae" {
		t.Errorf("%q", got)
	}
	if got := commName([]byte("kav\x00junk")); got != "kav" {
		t.Errorf("%q", got)
	}
}

func FuzzParseProcArgs2(f *testing.F) {
	ents, err := os.ReadDir(filepath.Join("testdata", "procargs2"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".bin" {
			b, err := os.ReadFile(filepath.Join("testdata", "procargs2", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pa, err := ParseProcArgs2(b)
		if err != nil && !errors.Is(err, ErrProcArgs) {
			t.Fatalf("error %v", err)
		}
		if len(pa.Args) > maxProcArgs {
			t.Fatalf("%d args", len(pa.Args))
		}
	})
}
