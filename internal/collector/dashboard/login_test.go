package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestLoginPage checks the page a browser without a credential gets: a
// 401 under the dashboard's policy, standalone (nothing it would need a
// credential or another origin for), saying how to log in.
func TestLoginPage(t *testing.T) {
	h, err := LoginPage(Options{Title: "Example Corp"})
	if err != nil {
		t.Fatal(err)
	}
	res, body := get(t, h, "/hosts/x")
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", res.StatusCode)
	}
	for k, v := range map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Length":          strconv.Itoa(len(body)),
	} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	for _, want := range []string{"<title>Log in · Example Corp</title>", "any user name", "<code>NAME:SECRET</code>",
		"<code>--admin-token-file</code>", ".cache/collector/admin-token", `<a href="">Try again</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	for _, bad := range []string{"<script", "<style", "style=", "<link", "http://", "https://", "//", "<form", "<img"} {
		if strings.Contains(strings.ReplaceAll(body, "<!DOCTYPE", ""), bad) {
			t.Errorf("page has %q: it must stand alone under the policy", bad)
		}
	}
	res, body = do(t, h, http.MethodHead, "/", nil)
	if res.StatusCode != http.StatusUnauthorized || body != "" {
		t.Errorf("HEAD: %d with %d bytes", res.StatusCode, len(body))
	}
	if _, body := get(t, mustLogin(t, Options{}), "/"); !strings.Contains(body, "the avscout dashboard") {
		t.Errorf("default title missing:\n%s", body)
	}
}

func mustLogin(t *testing.T, o Options) http.Handler {
	t.Helper()
	h, err := LoginPage(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
