package alert

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of an alert request.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex>", the hex being
	// the HMAC-SHA256, keyed with the webhook's secret, of the decimal
	// time, a dot and the body: "1767225600.{…}". Receivers recompute it,
	// compare in constant time, and reject a time far from theirs, which
	// makes a captured request useless to replay later.
	SignatureHeader = "Avscout-Signature"
	// EventHeader names the event (restricted, recovered, …).
	EventHeader = "Avscout-Event"
	// EventIDHeader is the event's id, the same in every attempt: a
	// receiver drops an id it has already handled.
	EventIDHeader = "Avscout-Event-Id"
	// AttemptHeader counts the delivery attempts, from 1.
	AttemptHeader = "Avscout-Delivery-Attempt"
)

// Sign returns the [SignatureHeader] value of body sent at time t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of [Verify].
var (
	ErrBadSignature = errors.New("signature does not match the body")
	ErrStale        = errors.New("signature time outside the tolerance")
)

// Verify checks a [SignatureHeader] value against body, as a receiver
// does: the HMAC must match and its time be within tolerance of now.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sums [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sums = append(sums, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sums) == 0 {
		return fmt.Errorf("%s %q: want t=<unix>,v1=<hex>", SignatureHeader, header)
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sums {
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %v from now", ErrStale, d.Round(time.Second))
	}
	return nil
}
