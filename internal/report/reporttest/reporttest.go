// Package reporttest makes gzip-compressed report bodies for the tests of
// the packages that store and send reports without reading them (the
// spool, the transport): only report_id matters to them, and the size.
package reporttest

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// Gzip returns a gzip-compressed JSON document with report_id id, padded
// with about pad bytes of random (incompressible) hex so that its size can
// be steered.
func Gzip(t testing.TB, id string, pad int) []byte {
	t.Helper()
	noise := make([]byte, pad/2)
	_, _ = rand.Read(noise)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(map[string]string{"report_id": id, "pad": hex.EncodeToString(noise)}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ID decompresses a report body and returns its report_id.
func ID(gz []byte) (string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return "", err
	}
	var r struct {
		ReportID string `json:"report_id"`
	}
	err = json.NewDecoder(zr).Decode(&r)
	return r.ReportID, err
}
