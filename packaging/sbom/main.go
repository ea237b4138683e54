// Command sbom writes the CycloneDX software bill of materials of one
// release artifact (a package, an installer or a bare binary), so that an
// auditor, or a vulnerability scanner such as Grype or Dependency-Track,
// can tell from the release alone which Go modules, at which versions,
// went into what a fleet runs.
//
// What the SBOM lists is read from the Go binaries themselves (the build
// information the Go linker embeds, as `go version -m` prints it), not
// from go.mod: a module the linker dropped is not in the product, and one
// that a build tag pulled in is. `make packages` runs it for every
// artifact:
//
//	sbom -artifact dist/release/avscout_0.1.40_amd64.deb -version 0.1.40 \
//	     -binary dist/avscout-linux-amd64 > avscout_0.1.40_amd64.deb.cdx.json
//
// The document is CycloneDX 1.5 JSON (https://cyclonedx.org/docs/1.5/json/),
// deterministic for the same inputs: the time is SOURCE_DATE_EPOCH when
// set, and the serial number is derived from the artifact's digest.
package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// binaryList collects repeated -binary flags.
type binaryList []string

func (b *binaryList) String() string     { return strings.Join(*b, ",") }
func (b *binaryList) Set(v string) error { *b = append(*b, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sbom", flag.ContinueOnError)
	fs.SetOutput(stderr)
	artifact := fs.String("artifact", "", "the release artifact `FILE` the SBOM describes")
	version := fs.String("version", "", "the release `VERSION` (scripts/version.sh package)")
	var binaries binaryList
	fs.Var(&binaries, "binary", "a Go binary `FILE` inside the artifact (repeatable; the artifact itself when it is a binary)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *artifact == "" || *version == "" || len(binaries) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: sbom -artifact FILE -version VERSION -binary FILE [-binary FILE…]")
		return 2
	}
	when, err := buildTime(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		fmt.Fprintf(stderr, "sbom: %v\n", err)
		return 2
	}
	doc, err := describe(*artifact, *version, binaries, when)
	if err != nil {
		fmt.Fprintf(stderr, "sbom: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		fmt.Fprintf(stderr, "sbom: %v\n", err)
		return 1
	}
	return 0
}

// buildTime is SOURCE_DATE_EPOCH (reproducible builds) or now.
func buildTime(epoch string) (time.Time, error) {
	if epoch == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	n, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a count of seconds", epoch)
	}
	return time.Unix(n, 0).UTC(), nil
}

// The subset of CycloneDX 1.5 we write.
type (
	document struct {
		BOMFormat    string       `json:"bomFormat"`
		SpecVersion  string       `json:"specVersion"`
		SerialNumber string       `json:"serialNumber"`
		Version      int          `json:"version"`
		Metadata     metadata     `json:"metadata"`
		Components   []component  `json:"components"`
		Dependencies []dependency `json:"dependencies"`
	}
	metadata struct {
		Timestamp string    `json:"timestamp"`
		Tools     tools     `json:"tools"`
		Component component `json:"component"`
	}
	tools struct {
		Components []component `json:"components"`
	}
	component struct {
		Type       string     `json:"type"`
		BOMRef     string     `json:"bom-ref,omitempty"`
		Name       string     `json:"name"`
		Version    string     `json:"version,omitempty"`
		PURL       string     `json:"purl,omitempty"`
		Hashes     []hash     `json:"hashes,omitempty"`
		Properties []property `json:"properties,omitempty"`
	}
	hash struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	}
	property struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	dependency struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	}
)

// describe builds the SBOM of artifact from the build information of the
// binaries it holds.
func describe(artifact, version string, binaries []string, when time.Time) (*document, error) {
	digest, err := fileSHA256(artifact)
	if err != nil {
		return nil, err
	}
	top := component{
		Type: "file", BOMRef: "artifact", Name: filepath.Base(artifact), Version: version,
		Hashes: []hash{{Alg: "SHA-256", Content: digest}},
	}
	doc := &document{
		BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		SerialNumber: "urn:uuid:" + uuidFrom(digest),
		Metadata: metadata{
			Timestamp: when.Format(time.RFC3339),
			Tools:     tools{Components: []component{{Type: "application", Name: "avscout sbom", Version: version}}},
			Component: top,
		},
	}
	libs := map[string]component{} // by bom-ref, shared by the binaries
	var artifactDeps []string
	for _, bin := range binaries {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("%s: no Go build information: %w", bin, err)
		}
		sum, err := fileSHA256(bin)
		if err != nil {
			return nil, err
		}
		app, deps := binaryComponents(info, version, sum)
		doc.Components = append(doc.Components, app)
		artifactDeps = append(artifactDeps, app.BOMRef)
		var refs []string
		for _, d := range deps {
			libs[d.BOMRef] = d
			refs = append(refs, d.BOMRef)
		}
		doc.Dependencies = append(doc.Dependencies, dependency{Ref: app.BOMRef, DependsOn: refs})
	}
	refs := make([]string, 0, len(libs))
	for ref := range libs {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		doc.Components = append(doc.Components, libs[ref])
		doc.Dependencies = append(doc.Dependencies, dependency{Ref: ref, DependsOn: []string{}})
	}
	doc.Dependencies = append([]dependency{{Ref: top.BOMRef, DependsOn: artifactDeps}}, doc.Dependencies...)
	return doc, nil
}

// binaryComponents describes one Go binary: the program and the modules
// and standard library linked into it.
func binaryComponents(info *buildinfo.BuildInfo, version, sum string) (component, []component) {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	name := info.Path[strings.LastIndex(info.Path, "/")+1:]
	if name == "agent" {
		name = "avscout" // the binary's name, not its folder's
	} else if name == "collector" {
		name = "avscout-collector"
	}
	platform := settings["GOOS"] + "/" + settings["GOARCH"]
	app := component{
		Type: "application", BOMRef: info.Path + "@" + platform, Name: name, Version: version,
		PURL:   "pkg:golang/" + info.Main.Path + "@v" + version + "#" + strings.TrimPrefix(info.Path, info.Main.Path+"/"),
		Hashes: []hash{{Alg: "SHA-256", Content: sum}},
		Properties: []property{
			{Name: "go:package", Value: info.Path},
			{Name: "go:platform", Value: platform},
			{Name: "go:toolchain", Value: info.GoVersion},
			{Name: "go:cgo", Value: settings["CGO_ENABLED"]},
		},
	}
	stdlib := component{
		Type: "library", BOMRef: "pkg:golang/stdlib@" + info.GoVersion, Name: "stdlib",
		Version: info.GoVersion, PURL: "pkg:golang/stdlib@" + info.GoVersion,
	}
	deps := []component{stdlib}
	for _, m := range info.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		c := component{
			Type: "library", BOMRef: "pkg:golang/" + m.Path + "@" + m.Version, Name: m.Path,
			Version: m.Version, PURL: "pkg:golang/" + m.Path + "@" + m.Version,
		}
		if m.Sum != "" {
			// The go.sum hash (h1: = SHA-256 of the module's file tree)
			// lets a reader check the module against the checksum database.
			c.Properties = []property{{Name: "go:sum", Value: m.Sum}}
		}
		deps = append(deps, c)
	}
	return app, deps
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", name)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// uuidFrom makes an RFC 4122 version 4 layout UUID from the first bytes
// of a hex digest: the same artifact gets the same serial number.
func uuidFrom(hexDigest string) string {
	b, err := hex.DecodeString(hexDigest)
	if err != nil || len(b) < 16 {
		sum := sha256.Sum256([]byte(hexDigest))
		b = sum[:]
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
