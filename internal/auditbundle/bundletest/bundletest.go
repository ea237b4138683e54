// Package bundletest tampers with audit bundles the way an attacker
// would (rewriting the tar), for the tests that check `avscout verify`
// names each kind of tampering.
package bundletest

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// File is one file of a bundle.
type File struct {
	Name string
	Body []byte
}

// Read returns the files of a bundle, in order.
func Read(b []byte) ([]File, error) {
	tr := tar.NewReader(bytes.NewReader(b))
	var out []File
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Name: h.Name, Body: body})
	}
}

// Write makes a bundle of files, in order.
func Write(files []File) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Size: int64(len(f.Body)), Mode: 0o600,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
			panic(err)
		}
		if _, err := tw.Write(f.Body); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Reports returns the indexes of the report files ("reports/….json").
func Reports(files []File) []int {
	var out []int
	for i, f := range files {
		if strings.HasPrefix(f.Name, "reports/") && strings.HasSuffix(f.Name, ".json") {
			out = append(out, i)
		}
	}
	return out
}

func find(files []File, name string) int {
	return slices.IndexFunc(files, func(f File) bool { return f.Name == name })
}

// ChangeByte flips one byte in the middle of the nth report.
func ChangeByte(b []byte, n int) ([]byte, error) {
	files, err := Read(b)
	if err != nil {
		return nil, err
	}
	i := Reports(files)[n]
	body := bytes.Clone(files[i].Body)
	body[len(body)/2] ^= 0x01
	files[i].Body = body
	return Write(files), nil
}

// Drop removes the nth report and its signature.
func Drop(b []byte, n int) ([]byte, error) {
	files, err := Read(b)
	if err != nil {
		return nil, err
	}
	name := files[Reports(files)[n]].Name
	files = slices.DeleteFunc(files, func(f File) bool { return f.Name == name || f.Name == name+".sig" })
	return Write(files), nil
}

// SwapContents swaps the bytes (and signatures) of the nth and mth
// reports, leaving the names in place: the reports reordered.
func SwapContents(b []byte, n, m int) ([]byte, error) {
	files, err := Read(b)
	if err != nil {
		return nil, err
	}
	rs := Reports(files)
	i, j := rs[n], rs[m]
	files[i].Body, files[j].Body = files[j].Body, files[i].Body
	si, sj := find(files, files[i].Name+".sig"), find(files, files[j].Name+".sig")
	if si >= 0 && sj >= 0 {
		files[si].Body, files[sj].Body = files[sj].Body, files[si].Body
	}
	return Write(files), nil
}

// EditManifest replaces old with new in the manifest (the first time).
func EditManifest(b []byte, old, new string) ([]byte, error) {
	return Edit(b, "manifest.jsonl", old, new)
}

// Edit replaces old with new in the file name (the first time).
func Edit(b []byte, name, old, new string) ([]byte, error) {
	files, err := Read(b)
	if err != nil {
		return nil, err
	}
	i := find(files, name)
	if i < 0 || !bytes.Contains(files[i].Body, []byte(old)) {
		return nil, fmt.Errorf("%s lacks %q", name, old)
	}
	files[i].Body = bytes.Replace(files[i].Body, []byte(old), []byte(new), 1)
	return Write(files), nil
}

// DropLine removes line n (from 0) of the file name.
func DropLine(b []byte, name string, n int) ([]byte, error) {
	files, err := Read(b)
	if err != nil {
		return nil, err
	}
	i := find(files, name)
	if i < 0 {
		return nil, fmt.Errorf("no %s", name)
	}
	lines := bytes.SplitAfter(files[i].Body, []byte("\n"))
	if n >= len(lines) {
		return nil, fmt.Errorf("%s has no line %d", name, n)
	}
	files[i].Body = bytes.Join(slices.Delete(lines, n, n+1), nil)
	return Write(files), nil
}

// Resign signs the manifest with another key, as one who swapped the
// collector's key would, also naming that key in the manifest's header
// when rename is set.
func Resign(b []byte, priv ed25519.PrivateKey, rename bool) ([]byte, error) {
	files, err := Read(b)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	key := "ed25519:" + base64.StdEncoding.EncodeToString(pub)
	sum := sha256.Sum256(pub)
	fp := "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
	mi := find(files, "manifest.jsonl")
	if rename {
		lines := bytes.SplitN(files[mi].Body, []byte("\n"), 2)
		var h map[string]any
		if err := json.Unmarshal(lines[0], &h); err != nil {
			return nil, err
		}
		h["collector_key"], h["collector_fingerprint"] = key, fp
		head, _ := json.Marshal(h)
		files[mi].Body = append(append(head, '\n'), lines[1]...)
	}
	ms := sha256.Sum256(files[mi].Body)
	sig := ed25519.Sign(priv, append([]byte("avscout audit manifest\n"), ms[:]...))
	doc, _ := json.MarshalIndent(map[string]string{
		"format": "avscout-audit-manifest-signature/1", "public_key": key, "fingerprint": fp,
		"manifest_sha256": hex.EncodeToString(ms[:]), "signature": "ed25519:" + base64.StdEncoding.EncodeToString(sig),
	}, "", "  ")
	files[find(files, "manifest.sig")].Body = append(doc, '\n')
	return Write(files), nil
}

// SwapOrder swaps the places in the archive of the nth and mth reports
// with their signatures, names and contents unchanged.
func SwapOrder(b []byte, n, m int) ([]byte, error) {
	files, err := Read(b)
	if err != nil {
		return nil, err
	}
	rs := Reports(files)
	group := func(i int) []File {
		g := []File{files[i]}
		if i+1 < len(files) && files[i+1].Name == files[i].Name+".sig" {
			g = append(g, files[i+1])
		}
		return g
	}
	gn, gm := group(rs[n]), group(rs[m])
	var out []File
	for i := 0; i < len(files); i++ {
		switch i {
		case rs[n]:
			out = append(out, gm...)
			i += len(gn) - 1
		case rs[m]:
			out = append(out, gn...)
			i += len(gm) - 1
		default:
			out = append(out, files[i])
		}
	}
	return Write(out), nil
}
