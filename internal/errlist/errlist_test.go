package errlist

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestList(t *testing.T) {
	for _, tt := range []struct {
		name        string
		max         int
		what        string
		add         []error
		wantKept    []bool // Add's answer for each of add
		wantLen     int
		wantDropped int
		wantErr     string // "" for a nil Err
	}{
		{name: "empty", max: 3},
		{name: "nil_ignored", max: 3, add: []error{nil, nil}, wantKept: []bool{false, false}},
		{
			name: "under_max", max: 3, add: []error{errors.New("a"), nil, errors.New("b")},
			wantKept: []bool{true, false, true}, wantLen: 2, wantErr: "a\nb",
		},
		{
			name: "at_max", max: 2, add: []error{errors.New("a"), errors.New("b")},
			wantKept: []bool{true, true}, wantLen: 2, wantErr: "a\nb",
		},
		{
			name: "over_max", max: 2, add: []error{errors.New("a"), errors.New("b"), errors.New("c"), errors.New("d")},
			wantKept: []bool{true, true, false, false}, wantLen: 4, wantDropped: 2, wantErr: "a\nb\nand 2 more",
		},
		{
			name: "over_max_named", max: 1, what: "errors", add: []error{errors.New("a"), errors.New("b")},
			wantKept: []bool{true, false}, wantLen: 2, wantDropped: 1, wantErr: "a\nand 1 more errors",
		},
		{
			name: "zero_max_counts_all", max: 0, what: "problems", add: []error{errors.New("a"), errors.New("b")},
			wantKept: []bool{false, false}, wantLen: 2, wantDropped: 2, wantErr: "and 2 more problems",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := List{Max: tt.max, What: tt.what}
			for i, err := range tt.add {
				if got := l.Add(err); got != tt.wantKept[i] {
					t.Errorf("Add(%v) = %v, want %v", err, got, tt.wantKept[i])
				}
			}
			if l.Len() != tt.wantLen || l.Dropped() != tt.wantDropped || len(l.Kept()) != tt.wantLen-tt.wantDropped {
				t.Errorf("Len %d, Dropped %d, %d kept; want %d, %d, %d",
					l.Len(), l.Dropped(), len(l.Kept()), tt.wantLen, tt.wantDropped, tt.wantLen-tt.wantDropped)
			}
			if (l.More() != nil) != (tt.wantDropped > 0) {
				t.Errorf("More() = %v with %d dropped", l.More(), tt.wantDropped)
			}
			err := l.Err()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Err() = %q, want nil", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("Err() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestListUnwraps checks that errors.Is and errors.As reach the kept
// errors through Err, and not the dropped ones.
func TestListUnwraps(t *testing.T) {
	kept := &fs.PathError{Op: "open", Path: "a", Err: fs.ErrPermission}
	l := List{Max: 2}
	l.Add(fmt.Errorf("bundle a: %w", kept))
	l.Add(errors.New("b"))
	l.Add(fmt.Errorf("bundle c: %w", fs.ErrNotExist)) // dropped
	err := l.Err()
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrPermission) || !errors.As(err, &pe) || pe != kept {
		t.Errorf("Err() = %v: does not unwrap to the kept *fs.PathError", err)
	}
	if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Err() = %v unwraps to a dropped error", err)
	}
	if !strings.HasSuffix(err.Error(), "and 1 more") {
		t.Errorf("Err() = %q, want it to end counting the dropped one", err)
	}
}
