package spool

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/reporttest"
)

// child returns a command that re-runs this test binary as a child with
// the given role (see TestMain).
func child(t *testing.T, role, dir string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "SPOOL_TEST_CHILD="+role, "SPOOL_TEST_DIR="+dir)
	cmd.Stderr = os.Stderr
	return cmd
}

// crashLimit is the crash child's MaxReports: small, so that runs also
// cross drops.
const crashLimit = 25

// crashChild puts reports until it is killed, and says on stdout what it
// is about to do and what has returned: "put ID" before Put, "ok ID" after
// it returned nil, "dropped ID" for each drop it reported, "del ID" before
// deleting and "dead ID" before dead-lettering a queued report.
func crashChild(dir string) {
	s, err := Open(dir, Limits{MaxReports: crashLimit}, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	fmt.Println("open")
	for i := 0; ; i++ {
		id := report.NewID()
		fmt.Println("put", id)
		dropped, err := s.Put(id, reporttest.Gzip(nopTB{}, id, 2000+i%7*1000))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		for _, d := range dropped {
			fmt.Println("dropped", d)
		}
		fmt.Println("ok", id)
		if i%5 == 4 || i%7 == 6 {
			es, err := s.Pending()
			if err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
			victim := es[rand.IntN(len(es))].ID
			if i%5 == 4 {
				fmt.Println("del", victim)
				err = s.Delete(victim)
			} else {
				fmt.Println("dead", victim)
				err = s.DeadLetter(victim, "crash test")
			}
			if err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
		}
	}
}

// nopTB lets the child use the report helper outside a test.
type nopTB struct{ testing.TB }

func (nopTB) Helper()           {}
func (nopTB) Fatal(args ...any) { fmt.Println("error", fmt.Sprint(args...)); os.Exit(3) }

// TestCrashSafety kills a child that is busy putting, deleting and
// dead-lettering with SIGKILL at random moments, many times over the same
// spool, and checks after each kill that the spool opens, that every
// entry is a whole report, that no temporary file survives Open, and
// that every report whose Put returned nil is still there unless it was
// dropped (oldest first), deleted or dead-lettered.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	rounds := 40
	if testing.Short() {
		rounds = 10
	}
	var (
		acked   []string            // ids whose Put returned nil, in order
		gone    = map[string]bool{} // dropped, deleted or dead-lettered (or about to be)
		cut     = map[string]bool{} // puts a kill interrupted: may or may not be there
		drops   int64               // drops the children reported
		maxHeld int                 // most entries seen after a kill
	)
	for round := range rounds {
		cmd := child(t, "crash", dir)
		var out bytes.Buffer
		pr, pw := io.Pipe()
		cmd.Stdout = pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			buf := make([]byte, 4096)
			once := false
			for {
				n, err := pr.Read(buf)
				out.Write(buf[:n])
				if !once && bytes.Contains(out.Bytes(), []byte("\nok ")) {
					once = true
					close(started)
				}
				if err != nil {
					if !once {
						close(started)
					}
					return
				}
			}
		}()
		// Kill a quarter of the children anywhere (even inside Open), the
		// rest after they have queued something.
		if round%4 != 0 {
			<-started
		}
		time.Sleep(time.Duration(rand.IntN(40_000)) * time.Microsecond)
		_ = cmd.Process.Kill() // SIGKILL on Unix
		_ = cmd.Wait()
		pw.Close()
		<-copied

		text := out.String()
		if i := strings.LastIndexByte(text, '\n'); i >= 0 {
			text = text[:i] // a cut last line says nothing
		} else {
			text = ""
		}
		inflight := "" // this round's put cut by the kill
		for _, line := range strings.Split(text, "\n") {
			verb, id, _ := strings.Cut(line, " ")
			switch verb {
			case "error":
				t.Fatalf("round %d: child failed: %s", round, line)
			case "put":
				inflight = id
			case "ok":
				acked = append(acked, id)
				inflight = ""
			case "dropped":
				gone[id] = true
				drops++
			case "del", "dead":
				gone[id] = true
			}
		}

		s, err := Open(dir, Limits{MaxReports: crashLimit}, nil)
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		if tf := tempFiles(t, dir); len(tf) > 0 {
			t.Fatalf("round %d: temporary files after Open: %v", round, tf)
		}
		es, err := s.Pending()
		if err != nil {
			t.Fatal(err)
		}
		present := map[string]bool{}
		for _, e := range es {
			present[e.ID] = true
			gz, err := s.Read(e.ID)
			if err != nil {
				t.Fatalf("round %d: Read(%s): %v", round, e.ID, err)
			}
			if id, err := reporttest.ID(gz); err != nil || id != e.ID {
				t.Fatalf("round %d: entry %s holds %q (%v)", round, e.ID, id, err)
			}
			if !slices.Contains(acked, e.ID) && e.ID != inflight && !cut[e.ID] {
				t.Fatalf("round %d: entry %s was never put", round, e.ID)
			}
		}
		// Reports acknowledged and not removed must all be there, except
		// that the Put cut by the kill may have dropped the oldest one
		// before saying so.
		var missing []string
		for _, id := range acked {
			if !gone[id] && !present[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			var expected []string
			for _, id := range acked {
				if !gone[id] {
					expected = append(expected, id)
				}
			}
			if inflight == "" || len(missing) > 1 || missing[0] != expected[0] {
				t.Fatalf("round %d: acknowledged reports lost: %v (in-flight put: %q)", round, missing, inflight)
			}
			gone[missing[0]] = true
			drops++
		}
		if inflight != "" {
			cut[inflight] = true
		}
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Dropped < drops {
			t.Fatalf("round %d: Stats.Dropped = %d, but %d drops happened", round, st.Dropped, drops)
		}
		if st.Queued > crashLimit {
			t.Fatalf("round %d: %d queued, over the limit %d", round, st.Queued, crashLimit)
		}
		maxHeld = max(maxHeld, st.Queued)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(acked) < rounds {
		t.Fatalf("only %d puts acknowledged in %d rounds: the children did little before being killed", len(acked), rounds)
	}
	t.Logf("%d rounds, %d puts acknowledged, %d drops, at most %d queued", rounds, len(acked), drops, maxHeld)
	if drops == 0 && len(acked) > 2*crashLimit {
		t.Fatalf("no drops in %d puts with a limit of %d", len(acked), crashLimit)
	}
}
