//go:build !unix

package hostile

import "errors"

// Fifo makes name a named pipe: only on Unix.
func Fifo(name string) error { return errors.ErrUnsupported }

// Socket makes name a unix socket: only on Unix.
func Socket(name string) error { return errors.ErrUnsupported }

func mknodZero(name string) error { return errors.ErrUnsupported }
