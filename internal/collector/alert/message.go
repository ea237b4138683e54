package alert

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/text"
)

// MessageVersion is the version of the JSON alert document; fields may
// be added without changing it.
const MessageVersion = 1

// Bounds of what one message carries: a hostile agent may name a
// thousand restricted products.
const (
	maxListed    = 50  // product names in a JSON alert
	maxSlackList = 10  // product names in a Slack message
	maxSlackText = 200 // runes of one value in a Slack message
)

// Message is the JSON document a [FormatJSON] webhook receives.
type Message struct {
	Version int    `json:"version"`
	EventID string `json:"event_id"`
	Event   string `json:"event"`
	Host    struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
		OS       string `json:"os"`
	} `json:"host"`
	// State is the host's state after the change; PreviousState the one
	// before, "" for a host's first report.
	State         string `json:"state"`
	PreviousState string `json:"previous_state"`
	Verdict       string `json:"verdict"`
	// Restricted lists restricted products active or installed (at most
	// 50; RestrictedCount counts them all), Protection the active
	// security products.
	Restricted      []string  `json:"restricted_products"`
	RestrictedCount int       `json:"restricted_count"`
	Protection      []string  `json:"protection"`
	ReportID        string    `json:"report_id"`
	ScannedAt       time.Time `json:"scanned_at"`  // when the report's scan ran
	DetectedAt      time.Time `json:"detected_at"` // when the collector stored it
}

// render returns the body of a's message in format.
func render(format string, a *store.Alert) ([]byte, error) {
	if format == FormatSlack {
		return json.Marshal(struct {
			Text        string `json:"text"`
			UnfurlLinks bool   `json:"unfurl_links"`
			UnfurlMedia bool   `json:"unfurl_media"`
		}{Text: slackText(a)})
	}
	m := Message{Version: MessageVersion, EventID: a.EventID, Event: a.Event, State: a.To, PreviousState: a.From,
		Verdict: a.Verdict, Restricted: first(a.Restricted, maxListed), RestrictedCount: len(a.Restricted),
		Protection: first(a.Protection, maxListed), ReportID: a.ReportID, ScannedAt: a.ScannedAt.UTC(), DetectedAt: a.DetectedAt.UTC()}
	m.Host.ID, m.Host.Hostname, m.Host.OS = a.HostID, a.Hostname, a.OS
	// encoding/json writes what the host sent as JSON strings, with <, >
	// and & escaped: inert in any HTML a receiver makes of it.
	return json.Marshal(m)
}

func first(s []string, n int) []string {
	if s == nil {
		return []string{}
	}
	return s[:min(len(s), n)]
}

// slackText is a's message as Slack mrkdwn. Every value from the host
// goes through slackCode; the event names, the collector's own, through
// slackEscape.
func slackText(a *store.Alert) string {
	host := slackCode(cmp.Or(a.Hostname, a.HostID))
	var b strings.Builder
	switch a.Event {
	case store.AlertRestricted:
		fmt.Fprintf(&b, ":rotating_light: avscout: host %s is *restricted*", host)
	case store.AlertIncomplete:
		fmt.Fprintf(&b, ":warning: avscout: host %s is *incomplete*: a source that could have seen a restricted product failed", host)
	case store.AlertUnprotected:
		fmt.Fprintf(&b, ":warning: avscout: host %s is *unprotected*: no active security product", host)
	case store.AlertRecovered:
		fmt.Fprintf(&b, ":white_check_mark: avscout: host %s *recovered*: compliant and protected", host)
	default:
		fmt.Fprintf(&b, "avscout: host %s: %s", host, slackEscape(a.Event))
	}
	if a.From != "" {
		fmt.Fprintf(&b, " (was %s)", slackEscape(a.From))
	}
	b.WriteString(".")
	if len(a.Restricted) > 0 {
		fmt.Fprintf(&b, "\nRestricted products in use: %s", slackList(a.Restricted))
	}
	if len(a.Protection) > 0 && a.Event != store.AlertRestricted {
		fmt.Fprintf(&b, "\nActive protection: %s", slackList(a.Protection))
	}
	fmt.Fprintf(&b, "\nHost %s (%s), report %s, scanned %s.", slackCode(a.HostID), slackCode(a.OS),
		slackCode(a.ReportID), a.ScannedAt.UTC().Format(time.RFC3339))
	return b.String()
}

func slackList(names []string) string {
	out := make([]string, 0, min(len(names), maxSlackList))
	for _, n := range first(names, maxSlackList) {
		out = append(out, slackCode(n))
	}
	s := strings.Join(out, ", ")
	if len(names) > maxSlackList {
		s += fmt.Sprintf(" and %d more", len(names)-maxSlackList)
	}
	return s
}

// slackEscape makes a host's value inert in a Slack message: one line,
// bounded, and with &, < and > escaped as Slack asks, so that it cannot
// form a link (<https://…|…>) or a mention (<@U…>, <!channel>). A word
// joiner after each @ keeps Slack-compatible receivers that turn a plain
// "@channel" into a mention (Mattermost does) from doing so.
func slackEscape(s string) string {
	s = text.Truncate(text.OneLine(s), maxSlackText)
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "@", "@\u2060").Replace(s)
}

// slackCode is slackEscape(s) as inline code, which Slack shows as typed:
// no *bold* or _italic_ from the host's mrkdwn, and no link made of a bare
// URL ("evil.example/login" as a hostname). A backtick, which would end the
// code, becomes a modifier grave accent (U+02CB); an empty value is "-".
func slackCode(s string) string {
	s = strings.ReplaceAll(slackEscape(s), "`", "\u02cb")
	if s == "" {
		s = "-"
	}
	return "`" + s + "`"
}
