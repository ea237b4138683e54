package remediate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Command returns a [Runner] that runs argv as a process of its own
// (never through a shell), standard input empty, and gives up on it
// after timeout.
func Command(timeout time.Duration) Runner {
	return func(ctx context.Context, argv []string) ([]byte, error) {
		if len(argv) == 0 {
			return nil, errors.New("empty command")
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		// A package's maintainer scripts ask nothing (Debian's debconf).
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out := &tailWriter{max: 64 << 10}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = 10 * time.Second // a grandchild holding the output open does not hang us
		err := cmd.Run()
		if ctx.Err() != nil && err != nil {
			err = fmt.Errorf("%s: stopped after %s: %w", argv[0], timeout, err)
		} else if err != nil {
			err = fmt.Errorf("%s: %w", argv[0], err)
		}
		return out.bytes(), err
	}
}

// tailWriter keeps the last max bytes written to it (about: it trims
// when it holds twice that), so a command that prints without end costs
// bounded memory.
type tailWriter struct {
	b   []byte
	max int
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	if len(w.b) > 2*w.max {
		w.b = append(w.b[:0], w.b[len(w.b)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailWriter) bytes() []byte {
	if len(w.b) > w.max {
		return w.b[len(w.b)-w.max:]
	}
	return w.b
}
