package host

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// loadProc reads a recorded /proc tree from testdata/proc (format in
// live.txt), exe being a symbolic link, and a file recorded as denied
// failing with fs.ErrPermission.
func loadProc(t *testing.T, name string) procReader {
	t.Helper()
	f, err := os.Open("testdata/proc/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fsys, deny := fstest.MapFS{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pid, rest, _ := strings.Cut(line, " ")
		file, quoted, _ := strings.Cut(rest, " ")
		if quoted == "denied" {
			deny[pid+"/"+file] = true
			continue
		}
		content, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("%s: %q: %v", name, line, err)
		}
		mode := fs.FileMode(0o444)
		if path.Base(file) == "exe" {
			mode = fs.ModeSymlink | 0o777
		}
		fsys[pid+"/"+file] = &fstest.MapFile{Data: []byte(content), Mode: mode}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return failingProcs{fsProcs{fsys}, deny}
}

// listFS lists the processes of r in pid order.
func listFS(t *testing.T, r procReader) ([]Process, error) {
	t.Helper()
	ps, err := listProcs(context.Background(), r)
	slices.SortFunc(ps, func(a, b Process) int { return int(a.PID - b.PID) })
	return ps, err
}

// A recorded /proc: kernel threads and a zombie, which run no program,
// are left out, a name the kernel cut is completed from argv[0], a denied
// executable leaves the process with its command line, a deleted one
// keeps its " (deleted)".
func TestListProcsRecorded(t *testing.T) {
	got, err := listFS(t, loadProc(t, "live.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Process{
		{PID: 1, Name: "process_api", Cmdline: "/process_api --firecracker-init --addr 0.0.0.0:2024 --max-ws-buffer-size 32768 --block-local-connections --log-vsock-port 5002 --control-vsock-port 5001 --listen-vsock-port 2024 --tcp-readiness-only --auth-required"},
		{PID: 25735, Name: "kav4proxy-kavicapserver", Exe: "/opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver", Cmdline: "./kav4proxy-kavicapserver 300"},
		{PID: 25742, Name: "oldklnagent", Exe: "/opt/kaspersky/kav4proxy/sbin/oldklnagent (deleted)", Cmdline: "./oldklnagent 300"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// A program whose main thread has exited is listed with the executable
// and command line of the thread that runs on; kernel threads and a
// zombie are not.
func TestListProcsHeadless(t *testing.T) {
	got, err := listFS(t, loadProc(t, "headless.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Process{{PID: 32688, Name: "klnagent", Exe: "/opt/kaspersky/klnagent64/sbin/klnagent", Cmdline: "/opt/kaspersky/klnagent64/sbin/klnagent -d"}}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// The same processes scanned by a user who may not read root's exe links,
// which answer "permission denied", not "no such file": the kernel
// threads and the zombie are still left out, the program without its
// main thread still listed from its running thread.
func TestListProcsHeadlessDenied(t *testing.T) {
	r := loadProc(t, "headless.txt").(failingProcs)
	r.deny = map[string]bool{"2/exe": true, "4/exe": true, "322/exe": true, "32688/exe": true}
	got, err := listFS(t, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []Process{{PID: 32688, Name: "klnagent", Exe: "/opt/kaspersky/klnagent64/sbin/klnagent", Cmdline: "/opt/kaspersky/klnagent64/sbin/klnagent -d"}}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// headlessProc adds to fsys the process pid whose main thread has exited
// and whose thread tid runs exe with args.
func headlessProc(fsys fstest.MapFS, pid, tid, comm, exe string, args ...string) {
	fsys[pid+"/stat"] = &fstest.MapFile{Data: []byte(pid + " (" + comm + ") Z 1 1 1 0 -1 4227084 0 0 0 0 0 0 0 0 20 0 2 0 7\n")}
	fsys[pid+"/cmdline"] = &fstest.MapFile{}
	fsys[pid+"/task/"+pid+"/cmdline"] = &fstest.MapFile{}
	fsys[pid+"/task/"+tid+"/exe"] = &fstest.MapFile{Data: []byte(exe), Mode: fs.ModeSymlink}
	fsys[pid+"/task/"+tid+"/cmdline"] = &fstest.MapFile{Data: []byte(strings.Join(append([]string{exe}, args...), "\x00") + "\x00")}
}

// kthreadd's stat, and its children list.
func kthreaddProc(fsys fstest.MapFS, children string) {
	fsys["2/stat"] = &fstest.MapFile{Data: []byte("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 1 0 0 0 20 0 1 0 18\n")}
	fsys["2/task/2/children"] = &fstest.MapFile{Data: []byte(children)}
}

// Edges of telling kernel threads and reading a program through its
// thread: pid 2 that is no kernel thread (a PID namespace), whose children
// list is not taken for kernel threads; a children list cut in the middle
// of a pid, whose part is not taken for a pid; a thread whose executable
// is denied; a name the kernel cut, completed from the thread's command
// line; a malformed stat, named.
func TestListProcsHeadlessEdges(t *testing.T) {
	t.Run("pid 2 is no kernel thread", func(t *testing.T) {
		fsys := fstest.MapFS{}
		fsys["2/stat"] = &fstest.MapFile{Data: []byte("2 (sh) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5\n")}
		fsys["2/exe"] = &fstest.MapFile{Data: []byte("/bin/sh"), Mode: fs.ModeSymlink}
		fsys["2/task/2/children"] = &fstest.MapFile{Data: []byte("12 ")}
		headlessProc(fsys, "12", "13", "klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent")
		got, _ := listFS(t, fsProcs{fsys})
		if len(got) != 2 || got[1].PID != 12 || got[1].Exe != "/opt/kaspersky/klnagent64/sbin/klnagent" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("children list cut", func(t *testing.T) {
		fsys := fstest.MapFS{}
		// The list fills the buffer (maxCmdline) up to "12" of "123456".
		kthreaddProc(fsys, strings.Repeat("3 ", (maxCmdline-2)/2)+"123456")
		headlessProc(fsys, "12", "13", "klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent")
		got, _ := listFS(t, fsProcs{fsys})
		if len(got) != 1 || got[0].PID != 12 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("thread exe denied, name cut", func(t *testing.T) {
		fsys := fstest.MapFS{}
		kthreaddProc(fsys, "3 ")
		headlessProc(fsys, "20", "21", "kav4proxy-kavic", "/opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver", "300")
		got, err := listFS(t, failingProcs{fsProcs{fsys}, map[string]bool{"20/task/21/exe": true}})
		want := []Process{{PID: 20, Name: "kav4proxy-kavicapserver", Cmdline: "/opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver 300"}}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("got %+v, %v\nwant %+v", got, err, want)
		}
	})
	t.Run("malformed stat", func(t *testing.T) {
		fsys := fstest.MapFS{}
		kthreaddProc(fsys, "3 ")
		fsys["30/stat"] = &fstest.MapFile{Data: []byte("30 (x) Z\n")}
		got, err := listFS(t, fsProcs{fsys})
		if len(got) != 0 || !errors.Is(err, ErrProcStat) || !strings.Contains(err.Error(), "30/stat") {
			t.Errorf("got %+v, err = %v", got, err)
		}
	})
}

// A process costs its exe link, stat and command line. A kernel thread
// costs its exe link alone, told by kthreadd's children, read once; a
// zombie its exe link and stat; a program without its main thread its
// exe link, stat, tasks and one running thread's exe and command line.
func TestListProcsReadsOnlyWhatItNeeds(t *testing.T) {
	c := &countingProcs{procReader: loadProc(t, "headless.txt"), calls: map[string]int{}}
	if _, err := listProcs(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"2/exe": 1, "2/stat": 1, "2/task/2/children": 1, // kthreadd, and the kernel's threads
		"4/exe":   1,
		"322/exe": 1, "322/stat": 1,
		"32688/exe": 1, "32688/stat": 1, "32688/task": 1, "32688/task/32690/exe": 1, "32688/task/32690/cmdline": 1,
	}
	if !maps.Equal(c.calls, want) {
		t.Errorf("reads\n%v\nwant\n%v", c.calls, want)
	}
	// Without the children list (live.txt was recorded without it), each
	// kernel thread is told by its stat, and a live process still costs
	// its three reads.
	c = &countingProcs{procReader: loadProc(t, "live.txt"), calls: map[string]int{}}
	if _, err := listProcs(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"4/stat", "25735/stat", "25735/cmdline", "25735/exe", "1/stat", "1/cmdline", "1/exe"} {
		if c.calls[name] != 1 {
			t.Errorf("live.txt: %s read %d times, want 1", name, c.calls[name])
		}
	}
	if n := c.calls["4/cmdline"] + c.calls["25853/cmdline"]; n != 0 {
		t.Errorf("live.txt: %d reads of a kernel thread's or zombie's command line", n)
	}
}

type countingProcs struct {
	procReader
	calls map[string]int
}

func (c *countingProcs) read(name string, buf []byte) ([]byte, error) {
	c.calls[name]++
	return c.procReader.read(name, buf)
}

func (c *countingProcs) readlink(name string) (string, error) {
	c.calls[name]++
	return c.procReader.readlink(name)
}

func (c *countingProcs) readAll(name string, buf []byte) ([]byte, error) {
	c.calls[name]++
	return c.procReader.readAll(name, buf)
}

func (c *countingProcs) tasks(pid string) ([]string, error) {
	c.calls[pid+"/task"]++
	return c.procReader.tasks(pid)
}

// Names with spaces, parentheses and newlines, an empty argv[0] under a
// long name, vanished processes and malformed stat files: every good
// entry is listed, each malformed one is named in the error, nothing
// panics.
func TestListProcsHostile(t *testing.T) {
	got, err := listFS(t, loadProc(t, "hostile.txt"))
	want := []Process{
		{PID: 100, Name: "a) b (c", Exe: "/tmp/a) b (c", Cmdline: "/tmp/a) b (c -x"},
		{PID: 101, Name: "x\ny", Cmdline: "x\ny"},
		{PID: 102, Name: "evil) R 1 2 3", Cmdline: "evil"},
		{PID: 103, Name: "averyveryverylo", Exe: "/usr/bin/averyveryverylong", Cmdline: " averyveryverylong"},
		{PID: 104, Name: "postgres", Exe: "/usr/lib/postgresql/15/bin/postgres", Cmdline: "postgres: checkpointer   "},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if !errors.Is(err, ErrProcStat) {
		t.Fatalf("err = %v, want ErrProcStat", err)
	}
	for _, pid := range []string{"110", "111", "112", "113", "114"} {
		if !strings.Contains(err.Error(), pid+"/stat: ") {
			t.Errorf("error does not name %s/stat:\n%v", pid, err)
		}
	}
}

// A command line of megabytes is read up to maxCmdline, and a stat file
// of megabytes up to maxStat.
func TestListProcsHuge(t *testing.T) {
	arg := strings.Repeat("x", 1<<20)
	fsys := fstest.MapFS{
		"7/stat":    {Data: []byte("7 (huge) S 1 7 7 0 -1 4194304 0\n")},
		"7/cmdline": {Data: []byte("/bin/huge\x00" + arg + "\x00")},
		"8/stat":    {Data: []byte("8 (" + arg + ") S 1 8 8 0 -1 4194304 0\n")},
		"7/exe":     {Data: []byte("/bin/huge"), Mode: fs.ModeSymlink},
		"8/exe":     {Data: []byte("/bin/huge"), Mode: fs.ModeSymlink},
	}
	got, err := listFS(t, fsProcs{fsys})
	if len(got) != 1 || len(got[0].Cmdline) != maxCmdline || !strings.HasPrefix(got[0].Cmdline, "/bin/huge xxx") {
		t.Errorf("got %d processes, the first with %d bytes of command line", len(got), len(got[0].Cmdline))
	}
	if !errors.Is(err, ErrProcStat) || !strings.Contains(err.Error(), "8/stat") {
		t.Errorf("err = %v, want ErrProcStat naming 8/stat", err)
	}
}

// A process whose stat is denied is left out; one whose executable or
// command line is denied, or fails part way, is kept with what was read.
func TestListProcsUnreadable(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, pid := range []string{"10", "11", "12", "13"} {
		fsys[pid+"/stat"] = &fstest.MapFile{Data: []byte(pid + " (p" + pid + ") S 1 1 1 0 -1 4194304 0\n")}
		fsys[pid+"/cmdline"] = &fstest.MapFile{Data: []byte("/bin/p" + pid + "\x00-a\x00")}
		fsys[pid+"/exe"] = &fstest.MapFile{Data: []byte("/bin/p" + pid), Mode: fs.ModeSymlink}
	}
	r := failingProcs{fsProcs{fsys}, map[string]bool{"10/stat": true, "11/exe": true, "12/cmdline": true, "13/cmdline": true}}
	got, err := listProcs(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	want := []Process{
		{PID: 11, Name: "p11", Cmdline: "/bin/p11 -a"},
		{PID: 12, Name: "p12", Exe: "/bin/p12"},
		{PID: 13, Name: "p13", Exe: "/bin/p13"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// failingProcs denies the files in deny.
type failingProcs struct {
	procReader
	deny map[string]bool
}

func (f failingProcs) read(name string, buf []byte) ([]byte, error) {
	if f.deny[name] {
		return buf, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.procReader.read(name, buf)
}

func (f failingProcs) readlink(name string) (string, error) {
	if f.deny[name] {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrPermission}
	}
	return f.procReader.readlink(name)
}

// A listing stops when its context is cancelled, returning the error.
func TestListProcsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := listProcs(ctx, loadProc(t, "live.txt")); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestParseProcStat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want procStat
	}{
		{"1 (init) S 0 1 1 0 -1 4194560 0\n", procStat{Comm: "init", State: 'S', Flags: 4194560}},
		{"2 (kthreadd) S 0 0 0 0 -1 2129984", procStat{Comm: "kthreadd", State: 'S', Flags: 2129984}},
		{"3 () Z 0 0 0 0 -1 0\n", procStat{State: 'Z'}},
		{"4 ((sd-pam)) S 1 4 4 0 -1 1077936448 0\n", procStat{Comm: "(sd-pam)", State: 'S', Flags: 1077936448}},
		// Whole lines (testdata/proc/headless.txt): num_threads, the 18th
		// field after the name.
		{"32688 (klnagent) Z 32687 32677 14472 0 -1 4227084 92 0 2 0 0 0 0 0 20 0 2 0 2966979 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			procStat{Comm: "klnagent", State: 'Z', Flags: 4227084, Threads: 2}},
		{"322 (python3) Z 32748 32745 14472 0 -1 4227148 226 0 0 0 0 0 0 0 20 0 1 0 2967925 0 0", procStat{Comm: "python3", State: 'Z', Flags: 4227148, Threads: 1}},
		{"5 (x) S 1 2 3 4 5 64 0 0 0 0 0 0 0 0 20 0 -3 0\n", procStat{Comm: "x", State: 'S', Flags: 64}},        // not a count
		{"5 (x) S 1 2 3 4 5 64 0 0 0 0 0 0 0 0 20 0", procStat{Comm: "x", State: 'S', Flags: 64}},               // cut before it
		{"5 (x) S 1 2 3 4 5 64 0 0 0 0 0 0 0 0 20 0 7", procStat{Comm: "x", State: 'S', Flags: 64, Threads: 7}}, // the last field
	} {
		got, err := parseProcStat([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("parseProcStat(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "(", ")(", "1 (x)", "1 (x) S 1 2 3 4 5", "1 (x) S 1 2 3 4 5 -6", "1 (x) S 1 2 3 4 5 99999999999999999999999"} {
		if _, err := parseProcStat([]byte(in)); !errors.Is(err, ErrProcStat) {
			t.Errorf("parseProcStat(%q): err = %v", in, err)
		}
	}
}

// No stat file makes the parser panic or keep more than it was given.
func FuzzParseProcStat(f *testing.F) {
	for _, s := range []string{"1 (init) S 0 1 1 0 -1 4194560 0\n", "102 (evil) R 1 2 3) S 1 102 102 0 -1 4194304 0\n", "1 (x", ")("} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseProcStat(b)
		if err == nil && len(s.Comm) > len(b) {
			t.Errorf("name of %d bytes from %d", len(s.Comm), len(b))
		}
	})
}

func BenchmarkParseProcStat(b *testing.B) {
	stat := []byte("25735 (kav4proxy-kavic) S 25726 25723 2931 0 -1 4194304 103 0 0 0 0 0 0 0 20 0 1 0 2385331 2990080 421 18446744073709551615 94278553296896 94278553314825 140736911426320 0 0 0 0 0 0 1 0 0 17 0 0 0 0 0 0 94278553328912 94278553330176 94279304503296 140736911432145 140736911432175 140736911432175 140736911433694 0\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseProcStat(stat); err != nil {
			b.Fatal(err)
		}
	}
}

func TestJoinCmdline(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"\x00\x00":       "",
		"a":              "a",
		"a\x00":          "a",
		"a\x00-b\x00c":   "a -b c",
		"a\x00\x00b\x00": "a  b", // an empty argument keeps its place
	} {
		if got := joinCmdline([]byte(in)); got != want {
			t.Errorf("joinCmdline(%q) = %q, want %q", in, got, want)
		}
	}
}
