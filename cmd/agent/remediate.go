package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/remediate"
	"github.com/avscout/avscout/internal/scan"
)

// runRemediate is `avscout remediate`: with --plan it scans this machine
// (or the filesystem under --root) and prints how to remove each
// restricted product found. It runs nothing but the scan.
func runRemediate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("remediate")
	var (
		plan    = fs.Bool("plan", false, "print the removal plan of the restricted products found (runs nothing)")
		format  = fs.String("format", "table", "output format: "+strings.Join(remediate.Formats(), ", "))
		root    = fs.String("root", "", "plan for `DIR` as the target's filesystem root (a mounted image, a container rootfs)")
		osName  = fs.String("os", "", "target OS: linux, windows or darwin (default: detected)")
		catFile = fs.String("catalog", "", "load the catalog or policy from `FILE` instead of the built-in one")
		timeout = fs.Duration("timeout", 30*time.Second, "time limit for each source of the scan")
	)
	if code, ok := parseFlags(fs, "Plans the removal of the restricted products this machine (or the filesystem under --root) holds:\n"+
		"the commands, in order, derived from the scan's evidence, the obstacles the catalog knows of,\n"+
		"what to delete afterwards, and whether another antivirus will still protect the host.", args, stdout, stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "avscout remediate: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q", fs.Arg(0))
	case !*plan:
		return fail("say --plan (print the removal plan)")
	case !slices.Contains(remediate.Formats(), *format):
		return fail("unknown --format %q (want %s)", *format, strings.Join(remediate.Formats(), ", "))
	}
	var target host.OS
	if *osName != "" {
		var err error
		if target, err = host.ParseOS(*osName); err != nil {
			return fail("--os: %v", err)
		}
	}
	cat, err := catalog.Load(*catFile)
	if err != nil {
		return fail("%v", err)
	}
	var h *host.Host
	if *root != "" {
		h, err = host.OpenRoot(*root, target)
	} else {
		h, err = host.Live(target)
	}
	if err != nil {
		return fail("%v", err)
	}
	r, err := scan.Run(ctx, scan.Options{
		Host:          h,
		Catalog:       cat,
		SourceTimeout: *timeout,
		AgentVersion:  version,
		Logger:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		MemoryLimit:   envMemoryLimit(),
	})
	if err != nil {
		return fail("%v", err)
	}
	p := remediate.New(r, cat, remediate.Options{Exists: remediate.ExistsOn(h)})
	if err := remediate.Render(stdout, p, *format); err != nil {
		return fail("write plan: %v", err)
	}
	return exitOK
}
