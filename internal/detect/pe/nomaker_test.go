package pe

import (
	"errors"
	"fmt"
	"testing"
)

// TestDescribeNoMaker: which files the enricher says name no maker — the
// mark that keeps a vendor's registry key alone from making a program
// called like the vendor's count.
func TestDescribeNoMaker(t *testing.T) {
	f := file{winPath: `C:\ion\avp.exe`}
	kl := &VersionInfo{CompanyName: "AO Kaspersky Lab", ProductName: "Kaspersky Endpoint Security for Windows"}
	productOnly := &VersionInfo{ProductName: "ion"}
	copied := Signature{Subject: "CN=AO Kaspersky Lab", CommonName: "AO Kaspersky Lab", Err: ErrDigestMismatch}
	tooLarge := Signature{Subject: "CN=AO Kaspersky Lab", CommonName: "AO Kaspersky Lab", Err: ErrTooLargeToHash}
	for _, tc := range []struct {
		name    string
		vi      *VersionInfo
		viErr   error
		sigs    []Signature
		sigErr  error
		noMaker bool
	}{
		{"no version resource, no signature", nil, nil, nil, nil, true},
		{"a version resource without a company", productOnly, nil, nil, nil, true},
		{"a version resource that cannot be parsed", nil, fmt.Errorf("%w: bad length", ErrMalformed), nil, nil, true},
		{"a copied signature, no version resource", nil, nil, []Signature{copied}, nil, true},
		{"a company in the version resource", kl, nil, nil, nil, false},
		{"a copied signature and the company", kl, nil, []Signature{copied}, nil, false},
		{"a signature too large to check", nil, nil, []Signature{tooLarge}, nil, false},
		{"a signature table that cannot be read", nil, errors.New("read: EIO"), nil, errors.New("read: EIO"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := describe(f, "ion/avp.exe", tc.vi, tc.viErr, tc.sigs, tc.sigErr, Verdict{})
			if len(out) != 1 {
				t.Fatalf("%d observations, want 1: %+v", len(out), out)
			}
			if out[0].NoMaker != tc.noMaker || out[0].Signer != "" {
				t.Errorf("NoMaker %v signer %q, want %v and none: %s", out[0].NoMaker, out[0].Signer, tc.noMaker, out[0].Detail)
			}
		})
	}
}
