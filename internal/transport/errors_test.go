package transport

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{"empty", "", 0},
		{"zero", "0", 0},
		{"seconds", "120", 2 * time.Minute},
		{"seconds_spaces", "  5 ", 5 * time.Second},
		{"negative", "-5", 0},
		{"fraction", "1.5", 0},
		{"words", "soon", 0},
		{"huge", "99999999999999999999", maxRetryAfter},
		{"over_a_day", "100000", maxRetryAfter},
		{"http_date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"rfc850_date", now.Add(time.Hour).Format(time.RFC850), time.Hour},
		{"asctime_date", now.Add(time.Minute).Format(time.ANSIC), time.Minute},
		{"date_past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"date_far", now.Add(30 * 24 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRetryAfter(tc.in, now); got != tc.want {
				t.Fatalf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestRetryableStatus(t *testing.T) {
	retryable := []int{408, 429, 500, 502, 503, 504, 507, 599, 100, 301, 302, 307, 308}
	permanent := []int{400, 401, 403, 404, 405, 409, 410, 411, 413, 415, 422, 451}
	for _, c := range retryable {
		if !retryableStatus(c) {
			t.Errorf("status %d: permanent, want retryable", c)
		}
	}
	for _, c := range permanent {
		if retryableStatus(c) {
			t.Errorf("status %d: retryable, want permanent", c)
		}
	}
}

func TestBodyReason(t *testing.T) {
	tests := []struct {
		name, ctype, body, want string
	}{
		{"json_error", "application/json", `{"error":"report_id missing"}`, "report_id missing"},
		{"json_message", "application/json; charset=utf-8", `{"message":"too big"}`, "too big"},
		{"problem_json", "application/problem+json", `{"title":"Bad","detail":"no host.id"}`, "no host.id"},
		{"json_no_known_field", "application/json", `{"code":7}`, `{"code":7}`},
		{"json_cut", "application/json", `{"error":"x`, `{"error":"x`},
		{"text", "text/plain", "quota\texceeded\r\n\r\nretry later", "quota exceeded retry later"},
		{"no_type", "", "plain", "plain"},
		{"html_left_out", "text/html", "<h1>502</h1>", ""},
		{"binary_left_out", "application/octet-stream", "\x00\x01", ""},
		{"control_chars", "text/plain", "a\x00b\x1bc\u202ed", "a b c d"},
		{"invalid_utf8", "text/plain", "ok\xff\xfeok", "ok ok"},
		{"token_blanked", "text/plain", "bad token " + testToken, "bad token [token]"},
		{"long", "text/plain", strings.Repeat("é", 500), strings.Repeat("é", maxReason) + "…"},
		{"empty", "text/plain", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := bodyReason(tc.ctype, []byte(tc.body), testToken); got != tc.want {
				t.Fatalf("bodyReason(%q, %q) = %q, want %q", tc.ctype, tc.body, got, tc.want)
			}
		})
	}
}
