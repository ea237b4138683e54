package unit

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	data := map[string]any{"Path": "/opt/my agent/avscout", "Name": `a<b>&"c'`, "Arguments": []string{"run", `say "hi"`}, "Empty": []string(nil), "Text": "x"}
	tests := []struct{ text, want, err string }{
		{"ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}\n", "ExecStart=/opt/my\\x20agent/avscout \"run\" \"say \\\"hi\\\"\"\n", ""},
		{"<string>{{Name | html}}</string>", "<string>a&lt;b&gt;&amp;&#34;c&#39;</string>", ""},
		{"a{{if Empty}}no{{range Empty}}{{.}}{{end}}{{end}}b{{if Text}}yes{{end}}", "abyes", ""},
		{"{{range Empty}}{{.}}{{end}}-", "-", ""},
		{"{{Missing}}", "", "no text value"},
		{"{{range Missing}}{{end}}", "", "unknown value"},
		{"{{Path | shout}}", "", "unknown function"},
		{"{{range Arguments}}x", "", "has no {{end}}"},
		{"x{{end}}", "", "unexpected {{end}}"},
		{"{{Path", "", "unclosed"},
	}
	for _, tt := range tests {
		got, err := render(tt.text, data)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.text, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %q, %v; want %q", tt.text, got, err, tt.want)
		}
	}
}
