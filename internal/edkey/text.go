package edkey

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Prefix starts the text form of an Ed25519 key or signature:
// "ed25519:" and its standard base64, as the Avscout-Public-Key header,
// the rekey command, signature files and audit manifests write it.
const Prefix = "ed25519:"

// Format writes b (a key or a signature) in its text form,
// "ed25519:<base64>"; "" for none.
func Format(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return Prefix + base64.StdEncoding.EncodeToString(b)
}

// ParseTagged reads "ed25519:<standard base64>" of exactly size bytes.
func ParseTagged(s string, size int) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return nil, fmt.Errorf("want %s followed by base64", Prefix)
	}
	if len(b64) != base64.StdEncoding.EncodedLen(size) {
		return nil, fmt.Errorf("want %d bytes in base64", size)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("want %d bytes in standard base64", size)
	}
	return b, nil
}
