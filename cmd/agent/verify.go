package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/reportsig"
	"github.com/avscout/avscout/internal/text"
)

// exitInvalid is verify's answer for a report that is not the one signed,
// or not signed by an expected key.
const exitInvalid = 1

// maxSignedReport bounds what verify reads of a report: far above the
// reports a scan writes (a few hundred KiB with --explain).
const maxSignedReport = 64 << 20

// signReport signs the report bytes rep with the agent's key, the one
// the service signs its reports with (made if missing), and returns the
// signature file's content and the key's fingerprint.
func signReport(rep []byte, cfgPath string, logger *slog.Logger) (sig []byte, fingerprint string, err error) {
	eff, err := loadConfig(cfgPath, cfgPath != "")
	if err != nil {
		return nil, "", err
	}
	// The service makes its state folder the same way on its first start.
	if err := os.MkdirAll(eff.Config.StateDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("state folder: %w (signing needs the service's key: run as the service's user, or pass --config with a state_dir you own)", err)
	}
	// A corrupt key is moved aside and replaced, which the collector
	// refuses until an administrator rekeys the host: say so.
	key, _, err := agentkey.LoadOrCreate(filepath.Join(eff.Config.StateDir, agentkey.FileName), logger)
	if err != nil {
		return nil, "", fmt.Errorf("%w (signing needs the service's key: run as the service's user, or pass --config with a state_dir you own)", err)
	}
	sig, err = reportsig.Sign(rep, key)
	if err != nil {
		return nil, "", err
	}
	return sig, key.Fingerprint(), nil
}

// runVerify handles `avscout verify`: it checks a report file against its
// detached signature, offline, and says who signed what.
func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify")
	sigPath := fs.String("signature", "", "the signature `FILE` (default: the report's name with "+reportsig.Ext+")")
	var keys []string
	fs.Func("key", "require the signer to be the key with this `FINGERPRINT` (as `avscout status` prints it, or for a bundle `avscout-collector audit key`; repeatable)", func(s string) error {
		if !strings.HasPrefix(s, "SHA256:") {
			return errors.New(`want a fingerprint "SHA256:…", as avscout status prints it`)
		}
		keys = append(keys, s)
		return nil
	})
	after := fs.String("after", "", "for a bundle: the previous audit's bundle `FILE`; checks that this one takes over where it ends (windows meet, same collector key, both chains run on without a gap)")
	if code, ok := parseFlags(fs, "Checks, offline, a report written by `avscout scan --sign` against its signature, or a collector's audit bundle "+
		"(`avscout-collector audit export`): its manifest signature (by the collector key --key names), every file, every agent signature and the report chain. "+
		"Exit 0 valid, 1 invalid (what is wrong is named), 2 unreadable.", args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "avscout verify: want one report file or audit bundle")
		return exitUsage
	}
	repPath := fs.Arg(0)
	if isBundle, err := sniffBundle(repPath); err != nil {
		fmt.Fprintf(stderr, "avscout verify: %v\n", err)
		return exitUsage
	} else if isBundle {
		if *sigPath != "" {
			fmt.Fprintln(stderr, "avscout verify: --signature is for a report file; a bundle holds its signatures")
			return exitUsage
		}
		return verifyBundle(repPath, keys, *after, stdout, stderr)
	}
	if *after != "" {
		fmt.Fprintln(stderr, "avscout verify: --after is for an audit bundle")
		return exitUsage
	}
	if *sigPath == "" {
		*sigPath = repPath + reportsig.Ext
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "avscout verify: "+format+"\n", a...)
		return code
	}
	rep, err := readBounded(repPath, maxSignedReport)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	sigData, err := readBounded(*sigPath, reportsig.MaxSignatureFile)
	if err != nil {
		return fail(exitUsage, "%v (sign reports with avscout scan --output FILE --sign)", err)
	}
	sig, err := reportsig.Parse(bytes.NewReader(sigData))
	if err != nil {
		return fail(exitInvalid, "%s: %v", *sigPath, err)
	}
	fp, err := reportsig.Verify(rep, sig, reportsig.Options{Fingerprints: keys})
	if err != nil {
		return fail(exitInvalid, "%s: INVALID: %v", repPath, err)
	}
	sum := sha256.Sum256(rep)
	fmt.Fprintf(stdout, "report:    %s (sha256 %s)\n", repPath, hex.EncodeToString(sum[:]))
	fmt.Fprintf(stdout, "signature: valid, by key %s\n", fp)
	var r report.Report
	if err := json.NewDecoder(bytes.NewReader(rep)).Decode(&r); err != nil {
		fmt.Fprintf(stdout, "content:   not a JSON report (%v)\n", text.Clip(text.OneLine(err.Error()), 120))
	} else {
		fmt.Fprintf(stdout, "host:      %s (id %s, %s %s)\n", show(r.Host.Hostname), show(r.Host.ID), show(r.Host.OS), show(r.Host.OSVersion))
		if r.Host.Root != "" && r.Host.Root != "/" {
			// scan --root: the signer is the machine that scanned the image.
			fmt.Fprintf(stdout, "root:      %s: a scan of that filesystem, signed by the machine that scanned it\n", show(r.Host.Root))
		}
		fmt.Fprintf(stdout, "scanned:   %s by avscout %s, catalog %s\n", report.FormatTime(r.GeneratedAt), show(r.Agent.Version), show(r.Agent.CatalogVersion))
		inUse, leftover := report.RestrictedCounts(r.Products)
		fmt.Fprintf(stdout, "verdict:   %s (%d products; restricted: %d installed or active, %d leftovers)\n", show(report.VerdictOf(&r)), len(r.Products), inUse, leftover)
	}
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "signer:    not checked against an expected key; compare the fingerprint with `avscout status` on the host or the collector's host page, or pass --key")
	} else {
		fmt.Fprintln(stdout, "signer:    the expected key")
	}
	return exitOK
}

// show makes report text safe to print on one line of a terminal.
func show(s string) string { return text.Clip(text.OneLine(s), 200) }

// readBounded reads a regular file of at most max bytes. It opens without
// blocking and checks what it opened, so that a named pipe given as a
// report, or swapped in for one, does not hang it.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a file avscout wrote", path, max)
	}
	return data, nil
}
