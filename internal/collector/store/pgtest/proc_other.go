//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"syscall"
)

// procAttr returns how to start initdb and postgres. Only Linux can
// switch to the postgres user when the tests run as root.
func procAttr(string) (*syscall.SysProcAttr, error) {
	if os.Geteuid() == 0 {
		return nil, errors.New("running as root: start PostgreSQL yourself and set AVSCOUT_TEST_POSTGRES (switching to the postgres user is implemented on Linux only)")
	}
	return nil, nil
}

func chown(string, *syscall.SysProcAttr) error { return nil }
