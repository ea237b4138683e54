package dashboard

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  filterForm
	}{
		{"empty", "", filterForm{}},
		{"blank_form", "state=&verdict=&compliant=&stale=&vendor=&product=&tag=&search=", filterForm{}},
		{"incomplete", "state=incomplete&verdict=incomplete", filterForm{State: "incomplete", Verdict: "incomplete"}},
		{"all_fields", "state=restricted&compliant=false&stale=true&vendor=Kaspersky&product=kes-linux&tag=site%3Dberlin&search=web&limit=20&offset=40",
			filterForm{State: "restricted", Compliant: "false", Stale: "true", Vendor: "Kaspersky", Product: "kes-linux", Tag: "site=berlin", Search: "web", Limit: 20, Offset: 40}},
		{"trimmed", "vendor=+Kaspersky+&state=+clean", filterForm{Vendor: "Kaspersky", State: "clean"}},
		{"tag_key_only", "tag=site", filterForm{Tag: "site"}},
		{"tag_empty_value", "tag=site%3D", filterForm{Tag: "site="}},
		{"unknown_params_ignored", "foo=bar&submit=Filter", filterForm{}},
		{"max_limit", "limit=1000", filterForm{Limit: 1000}},
		{"hostile_text_kept_verbatim", "search=%3Cscript%3E", filterForm{Search: "<script>"}},
		{"definitions", "definitions_older_than=30&definitions_stopped=true", filterForm{DefsOlderThan: 30, DefsStopped: "true"}},
		{"definitions_blank", "definitions_older_than=&definitions_stopped=", filterForm{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseFilter(q)
			if err != nil {
				t.Fatalf("parseFilter(%q): %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("parseFilter(%q) = %+v, want %+v", tt.query, got, tt.want)
			}
		})
	}
}

func TestParseFilterRejects(t *testing.T) {
	tests := []struct {
		name  string
		query string
		param string
		msg   string // part of the message
	}{
		{"unknown_state", "state=banned", "state", `"banned" is not one of restricted, incomplete, unprotected, clean`},
		{"unknown_verdict", "verdict=compliant%20enough", "verdict", `"compliant enough" is not one of compliant, non_compliant, incomplete`},
		{"state_case", "state=Restricted", "state", "is not one of"},
		{"compliant_yes", "compliant=yes", "compliant", "is not one of true, false"},
		{"stale_number", "stale=1", "stale", "is not one of true, false"},
		{"twice", "state=clean&state=restricted", "state", "given more than once"},
		{"limit_zero", "limit=0", "limit", "from 1 to 1000"},
		{"limit_big", "limit=1001", "limit", "from 1 to 1000"},
		{"limit_text", "limit=ten", "limit", `"ten" is not a whole number`},
		{"offset_negative", "offset=-1", "offset", "is not a whole number"},
		{"offset_overflow", "offset=99999999999999999999999", "offset", "is not a whole number"},
		{"tag_no_key", "tag=%3Dberlin", "tag", "has no key"},
		{"too_long", "search=" + strings.Repeat("a", 257), "search", "longer than 256 bytes"},
		{"bad_utf8", "vendor=%ff", "vendor", "not valid UTF-8"},
		{"control", "product=a%00b", "product", "control characters"},
		{"long_value_quoted_short", "state=" + strings.Repeat("x", 5000), "state", "…"},
		{"definitions_days_negative", "definitions_older_than=-1", "definitions_older_than", "from 0 to 36500"},
		{"definitions_days_huge", "definitions_older_than=36501", "definitions_older_than", "from 0 to 36500"},
		{"definitions_stopped_false", "definitions_stopped=false", "definitions_stopped", "is not one of true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseFilter(q)
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("parseFilter(%q) = %+v, %v; want a *filterError", tt.query, got, err)
			}
			if fe.Param != tt.param || !strings.Contains(fe.Error(), tt.msg) {
				t.Errorf("error %q (param %s), want param %s and %q in it", fe.Error(), fe.Param, tt.param, tt.msg)
			}
			if len(fe.Error()) > 200 {
				t.Errorf("error message is %d bytes long; a huge value must be shortened", len(fe.Error()))
			}
		})
	}
}

func TestHostFilter(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		form filterForm
		want store.HostFilter
	}{
		{"default", filterForm{}, store.HostFilter{StaleAfter: time.Hour, Limit: 50}},
		{"everything", filterForm{State: "clean", Compliant: "true", Stale: "false", Vendor: "V", Product: "P", Tag: "k=v", Search: "s", Limit: 10, Offset: 30},
			store.HostFilter{State: "clean", Compliant: &yes, Stale: &no, Vendor: "V", Product: "P", Tag: "k=v", Search: "s", StaleAfter: time.Hour, Limit: 10, Offset: 30}},
		{"not_compliant_stale", filterForm{Compliant: "false", Stale: "true"},
			store.HostFilter{Compliant: &no, Stale: &yes, StaleAfter: time.Hour, Limit: 50}},
		{"incomplete", filterForm{State: "incomplete", Verdict: "incomplete"},
			store.HostFilter{State: "incomplete", Verdict: "incomplete", StaleAfter: time.Hour, Limit: 50}},
		// 30 days before 2026-12-06T01:00:00+02:00, which is still 12-05 in UTC.
		{"definitions", filterForm{DefsOlderThan: 30, DefsStopped: "true"},
			store.HostFilter{DefinitionsBefore: "2026-11-05", DefinitionsStopped: true, StaleAfter: time.Hour, Limit: 50}},
	}
	now := time.Date(2026, 12, 6, 1, 0, 0, 0, time.FixedZone("UTC+2", 2*3600))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.form.hostFilter(time.Hour, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("hostFilter = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFilterURLs(t *testing.T) {
	f := filterForm{State: "restricted", Verdict: "non_compliant", Tag: "site=a&b", Search: "<x>", Limit: 20, Offset: 40}
	if got, want := f.listURL(60), "/hosts?limit=20&offset=60&search=%3Cx%3E&state=restricted&tag=site%3Da%26b&verdict=non_compliant"; got != want {
		t.Errorf("listURL = %q, want %q", got, want)
	}
	if got, want := f.exportURL(), "/v1/export?format=csv&search=%3Cx%3E&state=restricted&tag=site%3Da%26b&verdict=non_compliant"; got != want {
		t.Errorf("exportURL = %q, want %q", got, want)
	}
	if got, want := (filterForm{Limit: defaultPageSize}).listURL(0), "/hosts"; got != want {
		t.Errorf("listURL of no filter = %q, want %q", got, want)
	}
	if got, want := (filterForm{}).exportURL(), "/v1/export?format=csv"; got != want {
		t.Errorf("exportURL of no filter = %q, want %q", got, want)
	}
	// The list reads back what it links to.
	u, err := url.Parse(f.listURL(f.Offset))
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseFilter(u.Query())
	if err != nil || back != f {
		t.Errorf("parseFilter(listURL) = %+v, %v; want %+v", back, err, f)
	}
	if !f.filtered() || (filterForm{Limit: 5, Offset: 10}).filtered() {
		t.Errorf("filtered() must count filter fields only, not paging")
	}
}

func TestPager(t *testing.T) {
	tests := []struct {
		name         string
		form         filterForm
		total, shown int
		want         pager
	}{
		{"empty", filterForm{}, 0, 0, pager{}},
		{"one_page", filterForm{}, 3, 3, pager{From: 1, To: 3, Total: 3}},
		{"exactly_one_page", filterForm{Limit: 3}, 3, 3, pager{From: 1, To: 3, Total: 3}},
		{"first_of_three", filterForm{Limit: 10}, 25, 10,
			pager{From: 1, To: 10, Total: 25, Next: "/hosts?limit=10&offset=10", Last: "/hosts?limit=10&offset=20"}},
		{"middle", filterForm{Limit: 10, Offset: 10}, 25, 10,
			pager{From: 11, To: 20, Total: 25, First: "/hosts?limit=10", Prev: "/hosts?limit=10", Next: "/hosts?limit=10&offset=20", Last: "/hosts?limit=10&offset=20"}},
		{"last", filterForm{Limit: 10, Offset: 20}, 25, 5,
			pager{From: 21, To: 25, Total: 25, First: "/hosts?limit=10", Prev: "/hosts?limit=10&offset=10"}},
		{"odd_offset", filterForm{Limit: 10, Offset: 5}, 25, 10,
			pager{From: 6, To: 15, Total: 25, First: "/hosts?limit=10", Prev: "/hosts?limit=10", Next: "/hosts?limit=10&offset=15", Last: "/hosts?limit=10&offset=20"}},
		{"beyond", filterForm{State: "clean", Limit: 10, Offset: 90}, 25, 0,
			pager{Total: 25, Beyond: true, First: "/hosts?limit=10&state=clean", Prev: "/hosts?limit=10&offset=20&state=clean"}},
		{"beyond_empty_list", filterForm{Offset: 50}, 0, 0,
			pager{Beyond: true, First: "/hosts", Prev: "/hosts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newPager(tt.form, tt.total, tt.shown); got != tt.want {
				t.Errorf("newPager = %+v\nwant        %+v", got, tt.want)
			}
		})
	}
}
