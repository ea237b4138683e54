package store

import (
	"strings"
	"testing"
)

// The host upsert clause and column count are written out as constants;
// they must follow hostRowColumns and hostRow.args.
func TestHostUpsertColumns(t *testing.T) {
	cols := strings.Split(hostRowColumns, ",")
	if len(cols) != hostColumnCount {
		t.Errorf("hostRowColumns has %d columns, hostColumnCount says %d", len(cols), hostColumnCount)
	}
	if n := len((&hostRow{}).args()); n != hostColumnCount {
		t.Errorf("hostRow.args gives %d values, hostColumnCount says %d", n, hostColumnCount)
	}
	var sets []string
	for _, c := range cols[1:] {
		c = strings.TrimSpace(c)
		sets = append(sets, c+" = excluded."+c)
	}
	if want := " ON CONFLICT (id) DO UPDATE SET " + strings.Join(sets, ", "); hostUpsert != want {
		t.Errorf("hostUpsert =\n%s\nwant\n%s", hostUpsert, want)
	}
}
