package dashboard

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// loginView is the login page's data.
type loginView struct{ Title string }

// LoginPage returns the handler of the page a browser gets instead of
// the dashboard while it has no valid admin credential: a 401 that says
// how to log in and where the credential is. The caller sets the
// WWW-Authenticate challenge, so that the browser still asks. The page
// stands alone (no stylesheet, which sits behind the credential) under
// the dashboard's Content-Security-Policy; only opts.Title is used.
func LoginPage(opts Options) (http.Handler, error) {
	t, err := template.ParseFS(templateFS, "templates/login.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: parsing template login: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, loginView{Title: cmp.Or(strings.TrimSpace(opts.Title), "avscout")}); err != nil {
		return nil, fmt.Errorf("dashboard: rendering the login page: %w", err)
	}
	body := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		setSecurityHeaders(h)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusUnauthorized)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body) // the client went away: nothing to do
		}
	}), nil
}
