package admin

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

// WriteTokens writes tokens as the table "token list" prints: ID, name
// (quoted, since it is free text), creation, last use and status.
func WriteTokens(w io.Writer, tokens []store.Token) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tSTATUS")
	for _, t := range tokens {
		status := "valid"
		if t.Revoked() {
			status = "revoked " + t.RevokedAt.Format(time.RFC3339)
		}
		used := "never"
		if !t.LastUsed.IsZero() {
			used = t.LastUsed.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%q\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(time.RFC3339), used, status)
	}
	return tw.Flush()
}
