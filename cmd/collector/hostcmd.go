package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

// auditLimit is how many audit entries "host show" prints.
const auditLimit = 20

// parseInterspersed parses fs from args, allowing flags after the
// positional arguments ("host rekey HOST --clear"), and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// cliCredential names the person at the command line in the audit log:
// "cli:" and the OS user.
func cliCredential() string {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		return "cli"
	}
	return "cli:" + name
}

// hostKeyView is a host's key as "host show --json" prints it.
type hostKeyView struct {
	HostID             string             `json:"host_id"`
	Known              bool               `json:"known"` // the host has reported
	Pinned             bool               `json:"pinned"`
	Fingerprint        string             `json:"fingerprint,omitempty"`
	PublicKey          string             `json:"public_key,omitempty"`
	PinnedAt           time.Time          `json:"pinned_at,omitzero"`
	PinnedBy           string             `json:"pinned_by,omitempty"`
	RefusedFingerprint string             `json:"refused_fingerprint,omitempty"`
	RefusedKey         string             `json:"refused_key,omitempty"`
	RefusedAt          time.Time          `json:"refused_at,omitzero"`
	Audit              []store.AuditEntry `json:"audit"`
}

// hostSynopsis is the usage line of each host subcommand.
var hostSynopsis = map[string]string{
	"show":  "  avscout-collector host show [--db PATH|postgres://…] [--json] HOST_ID   (its pinned key, the last refused key, the audit log)",
	"rekey": "  avscout-collector host rekey [--db PATH|postgres://…] HOST_ID --key ed25519:BASE64 | --clear",
}

func runHost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("host: want show or rekey")
	}
	sub, args := args[0], args[1:]
	if isHelp(sub) {
		subUsage(stdout, hostSynopsis["show"], hostSynopsis["rekey"])
		return nil
	}
	fs := newFlags("host "+sub, hostSynopsis[sub], args, stdout, stderr)
	db := dbFlag(fs)
	switch sub {
	case "show":
		asJSON := fs.Bool("json", false, "print JSON")
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: host show [--db …] [--json] HOST_ID")
		}
		st, err := openStore(ctx, *db, stderr)
		if err != nil {
			return err
		}
		defer st.Close()
		v, err := showHost(ctx, st, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		printHost(stdout, v)
		return nil
	case "rekey":
		key := fs.String("key", "", "pin this agent key to the host: `ed25519:BASE64` (the agent's public key)")
		clear := fs.Bool("clear", false, "clear the host's pin: its next verified report pins its key")
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 || (*key == "") == !*clear {
			return usagef("usage: host rekey [--db …] HOST_ID --key ed25519:BASE64 | --clear")
		}
		rk := store.Rekey{HostID: pos[0], Credential: cliCredential()}
		if *key != "" {
			if rk.Key, err = store.ParseKey(*key); err != nil {
				return usagef("--key: want ed25519:<standard base64 of the 32-byte key>")
			}
		}
		st, err := openStore(ctx, *db, stderr)
		if err != nil {
			return err
		}
		defer st.Close()
		before, after, err := st.Rekey(ctx, rk)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("host %q: not known to this collector (it never reported)", pos[0])
		} else if err != nil {
			return err
		}
		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		log.Warn("host rekeyed by an administrator", "host", pos[0], "credential", rk.Credential,
			"from", store.Fingerprint(before.PublicKey), "to", store.Fingerprint(after.PublicKey), "cleared", rk.Key == nil)
		if rk.Key != nil {
			fmt.Fprintf(stdout, "host %s: pinned %s (was %s)\n", pos[0], store.Fingerprint(after.PublicKey), orNone(store.Fingerprint(before.PublicKey)))
		} else {
			fmt.Fprintf(stdout, "host %s: pin cleared (was %s); its next verified report pins its key\n", pos[0], orNone(store.Fingerprint(before.PublicKey)))
		}
		return nil
	default:
		return usagef("host: unknown subcommand %q (want show or rekey)", sub)
	}
}

func showHost(ctx context.Context, st *store.Store, id string) (hostKeyView, error) {
	v := hostKeyView{HostID: id}
	_, err := st.Host(ctx, id, time.Hour)
	switch {
	case err == nil:
		v.Known = true
	case !errors.Is(err, store.ErrNotFound):
		return v, err
	}
	k, err := st.HostKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !v.Known {
			return v, fmt.Errorf("host %q: not known to this collector", id)
		}
	case err != nil:
		return v, err
	}
	v.Pinned, v.Fingerprint, v.PublicKey, v.PinnedAt, v.PinnedBy = k.Pinned(), store.Fingerprint(k.PublicKey), store.FormatKey(k.PublicKey), k.PinnedAt, k.PinnedBy
	v.RefusedFingerprint, v.RefusedKey, v.RefusedAt = store.Fingerprint(k.RefusedKey), store.FormatKey(k.RefusedKey), k.RefusedAt
	if v.Audit, err = st.AuditLog(ctx, id, auditLimit); err != nil {
		return v, err
	}
	return v, nil
}

func printHost(w io.Writer, v hostKeyView) {
	fmt.Fprintf(w, "host:     %s\n", v.HostID)
	if !v.Known {
		fmt.Fprintln(w, "reports:  none stored")
	}
	if v.Pinned {
		fmt.Fprintf(w, "key:      %s  %s\npinned:   %s by %s\n", v.Fingerprint, v.PublicKey, v.PinnedAt.Format(time.RFC3339), v.PinnedBy)
	} else {
		fmt.Fprintln(w, "key:      none pinned (the next verified report pins its key)")
	}
	if v.RefusedKey != "" {
		fmt.Fprintf(w, "refused:  %s  %s  last %s\n", v.RefusedFingerprint, v.RefusedKey, v.RefusedAt.Format(time.RFC3339))
		if v.Pinned && v.RefusedKey != v.PublicKey {
			fmt.Fprintf(w, "          if this is the host's re-installed agent: avscout-collector host rekey %s --key %s\n", v.HostID, v.RefusedKey)
		}
	}
	if len(v.Audit) > 0 {
		fmt.Fprintln(w, "audit:")
		for _, e := range v.Audit {
			fmt.Fprintf(w, "  %s  %s  %s  %s\n", e.At.Format(time.RFC3339), e.Credential, e.Action, strings.ReplaceAll(e.Detail, "\n", " "))
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
