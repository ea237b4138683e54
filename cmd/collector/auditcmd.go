package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/avscout/avscout/internal/auditbundle"
	"github.com/avscout/avscout/internal/collector"
	"github.com/avscout/avscout/internal/collector/admin"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/text"
)

// auditSynopsis is the usage line of each audit subcommand.
var auditSynopsis = map[string]string{
	"export": "  avscout-collector audit export [--db …] [--signing-key FILE] --since T [--until T] --out FILE",
	"key":    "  avscout-collector audit key [--db …] [--signing-key FILE]   (the collector's public key, for auditors to pin)",
	"log":    "  avscout-collector audit log [--db …] [--target T] [--action A] [--limit N] [--json]   (the access log, newest first)",
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("audit: want export, key or log")
	}
	sub, args := args[0], args[1:]
	if isHelp(sub) {
		subUsage(stdout, auditSynopsis["export"], auditSynopsis["key"], auditSynopsis["log"])
		return nil
	}
	if _, ok := auditSynopsis[sub]; !ok {
		return usagef("audit: unknown subcommand %q (want export, key or log)", sub)
	}
	fs := newFlags("audit "+sub, auditSynopsis[sub], args, stdout, stderr)
	db := dbFlag(fs)
	if sub == "log" {
		return auditLog(ctx, fs, db, args, stdout, stderr)
	}
	keyPath := fs.String("signing-key", "", "the collector's signing key `FILE` (default: "+collector.KeyFileName+" beside a SQLite database; required with PostgreSQL)")
	var since, until, out *string
	if sub == "export" {
		since = fs.String("since", "", "the window's start `T`: RFC 3339 or a date (UTC), included (required)")
		until = fs.String("until", "", "the window's end `T`, excluded (default: when the export begins, by the database's clock)")
		out = fs.String("out", "", "write the bundle (a tar file) to `FILE` (required)")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("audit %s: unexpected argument %q", sub, fs.Arg(0))
	}
	if *keyPath == "" {
		if *keyPath = collector.DefaultKeyPath(*db); *keyPath == "" {
			return usagef("audit %s: --signing-key FILE is required with this database (every replica uses the same key)", sub)
		}
	}
	if sub == "key" {
		k, err := collector.LoadSigningKey(*keyPath, warnLog(stderr))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "fingerprint: %s\npublic key:  %s\nfile:        %s\n", k.Fingerprint(), auditbundle.EncodeKey(k.PublicKey()), *keyPath)
		return nil
	}
	if *since == "" || *out == "" {
		return usagef("usage: audit export --since T [--until T] --out FILE")
	}
	from, err := collector.ParseAuditTime(*since)
	if err != nil {
		return usagef("--since: %v", err)
	}
	to := collector.OpenEnd // cut when the export begins, by the store's clock
	if *until != "" {
		if to, err = collector.ParseAuditTime(*until); err != nil {
			return usagef("--until: %v", err)
		}
	}
	if !from.Before(to) {
		return usagef("--since must be before --until")
	}
	k, err := collector.LoadSigningKey(*keyPath, warnLog(stderr))
	if err != nil {
		return err
	}
	st, err := admin.Open(ctx, *db, warnLog(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	// The export is itself an access: logged before it is made.
	untilText := "now"
	if *until != "" {
		untilText = to.UTC().Format(time.RFC3339Nano)
	}
	detail := "since=" + from.UTC().Format(time.RFC3339Nano) + "&until=" + untilText + "&out=" + *out
	if err := st.Audit(ctx, store.AuditEntry{Credential: admin.CLICredential(), Action: store.AuditExport, Target: "audit export", Detail: detail}); err != nil {
		return err
	}
	// Written beside FILE and renamed into place, so FILE is never half a bundle.
	dir := filepath.Dir(*out)
	f, err := os.CreateTemp(dir, ".avscout-audit-*.tar")
	if err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	defer os.Remove(f.Name())
	hdr, err := collector.ExportAudit(ctx, st, collector.AuditExport{Since: from, Until: to, Key: k, TempDir: dir, Now: time.Now()}, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	if err := os.Rename(f.Name(), *out); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	fmt.Fprintf(stdout, "wrote %s: window %s to %s, %d reports (chain entries %d to %d, head %d), %d access log entries, signed by %s\n",
		*out, hdr.Since.Format(time.RFC3339Nano), hdr.Until.Format(time.RFC3339Nano),
		hdr.Reports, hdr.FirstSeq, hdr.LastSeq, hdr.HeadSeq, hdr.Access, k.Fingerprint())
	switch {
	case *until == "" && hdr.Since.Before(hdr.Until), hdr.Until.Equal(to.Truncate(time.Microsecond)):
		// as asked (times are kept to the microsecond)
	case !hdr.Since.Before(hdr.Until):
		fmt.Fprintf(stdout, "the window starts after the export began, so it is empty: the next export starts at %s\n",
			hdr.Since.Format(time.RFC3339Nano))
	default:
		fmt.Fprintf(stdout, "the window ends when the export began, not at %s: the next export starts at %s\n",
			to.UTC().Format(time.RFC3339Nano), hdr.Until.Format(time.RFC3339Nano))
	}
	return nil
}

// auditLog prints the access log: every administrator read, export and
// change, newest first. Reading it is itself logged.
func auditLog(ctx context.Context, fs *flag.FlagSet, db *string, args []string, stdout, stderr io.Writer) error {
	target := fs.String("target", "", "only entries on `T` (a path or a host id)")
	action := fs.String("action", "", "only entries of action `A` (read, export, rekey, …)")
	limit := fs.Int("limit", 100, "at most `N` entries (1 to 1000)")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("audit log: unexpected argument %q", fs.Arg(0))
	}
	if *limit < 1 || *limit > store.MaxLimit {
		return usagef("--limit: want 1 to %d", store.MaxLimit)
	}
	st, err := admin.Open(ctx, *db, warnLog(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	f := store.AuditFilter{Target: *target, Action: *action, Limit: *limit}
	detail := fmt.Sprintf("target=%s&action=%s&limit=%d", f.Target, f.Action, f.Limit)
	if err := st.Audit(ctx, store.AuditEntry{Credential: admin.CLICredential(), Action: store.AuditRead, Target: "audit log", Detail: detail}); err != nil {
		return err
	}
	entries, err := st.AuditPage(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tCREDENTIAL\tREMOTE\tACTION\tTARGET\tDETAIL")
	for _, e := range entries {
		// Targets and details may come from URLs: one line each, no escapes.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), text.OneLine(e.Credential),
			cmp.Or(text.OneLine(e.Remote), "-"), text.OneLine(e.Action), text.OneLine(e.Target), text.OneLine(e.Detail))
	}
	return tw.Flush()
}
