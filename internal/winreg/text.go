package winreg

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/avscout/avscout/internal/text"
)

// MaxText bounds each text the Windows sources take from the registry
// into an observation.
const MaxText = 512

// CleanText makes registry text safe for a report, as the uninstall and
// vendorkeys sources both need: control characters and invalid UTF-8
// become spaces, the text is trimmed and clipped to [MaxText] bytes.
func CleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	return text.Clip(strings.TrimSpace(s), MaxText)
}

// Text reads the value name of k as text cleaned by [CleanText]. A
// missing value is "" and no error, as the sources that read optional
// values want.
func Text(k Key, name string) (string, error) {
	v, err := k.Value(name)
	if errors.Is(err, ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return CleanText(v.String()), nil
}
