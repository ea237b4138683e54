package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/atomicfile"
	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/reportsig"
	"github.com/avscout/avscout/internal/scan"
	"github.com/avscout/avscout/internal/text"
)

func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("scan")
	var (
		format  = fs.String("format", "table", "output format: "+strings.Join(report.Formats(), ", "))
		output  = fs.String("output", "", "write the report to `FILE` instead of standard output")
		root    = fs.String("root", "", "scan `DIR` as the target's filesystem root (a mounted image, a container rootfs)")
		osName  = fs.String("os", "", "target OS: linux, windows or darwin (default: detected)")
		catFile = fs.String("catalog", "", "load the catalog or policy from `FILE` instead of the built-in one")
		failOn  = fs.String("fail-on", "", "exit 1 when any of the comma-separated `conditions` holds: restricted (a restricted product installed or active), incomplete (a source that could have seen one failed or timed out)")
		srcs    = fs.String("sources", "", "comma-separated `list` of sources to run (default: all for the OS)")
		timeout = fs.Duration("timeout", 30*time.Second, "time limit for each source")
		verbose = fs.Bool("verbose", false, "log what each source does to standard error")
		explain = fs.Bool("explain", false, "say why: each finding's decision trace, and the matches that did not count")
		sign    = fs.Bool("sign", false, "with --output and --format json: also write FILE"+reportsig.Ext+", the report's signature by the agent's key (made if missing), which `avscout verify` checks")
		cfgPath = fs.String("config", "", "with --sign: the config `FILE` whose state_dir holds the agent's key (default: the OS's standard path)")
	)
	if code, ok := parseFlags(fs, "Scans this machine, or the filesystem under --root, and prints the report.", args, stdout, stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "avscout scan: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if !slices.Contains(report.Formats(), *format) { // checked before scanning, not after
		return fail("unknown --format %q (want %s)", *format, strings.Join(report.Formats(), ", "))
	}
	if *sign && (*output == "" || *format != "json") {
		return fail("--sign needs --output FILE and --format json: the signature is written beside the report")
	}
	if *cfgPath != "" && !*sign {
		return fail("--config goes with --sign")
	}
	failOnConds, err := scan.ParseFailOn(*failOn)
	if err != nil {
		return fail("%v", err)
	}
	h, cat, err := openTarget(*root, *osName, *catFile)
	if err != nil {
		return fail("%v", err)
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelDebug
	}
	r, err := scan.Run(ctx, scan.Options{
		Host:          h,
		Catalog:       cat,
		Sources:       text.SplitList(*srcs),
		SourceTimeout: *timeout,
		AgentVersion:  version,
		Explain:       *explain,
		Logger:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		MemoryLimit:   envMemoryLimit(),
	})
	if err != nil {
		return fail("%v", err)
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, r, *format); err != nil {
		return fail("%v", err)
	}
	if *output != "" {
		var sig []byte
		if *sign { // before the report is written: a key that cannot sign leaves no unsigned report behind
			var fp string
			if sig, fp, err = signReport(buf.Bytes(), *cfgPath, slog.New(slog.NewTextHandler(stderr, nil))); err != nil {
				return fail("--sign: %v", err)
			}
			fmt.Fprintf(stderr, "avscout scan: signed %s by key %s\n", *output, fp)
		}
		if err := atomicfile.Write(*output, buf.Bytes(), 0o600); err != nil {
			return fail("%v", err)
		}
		if sig != nil {
			if err := atomicfile.Write(*output+reportsig.Ext, sig, 0o644); err != nil {
				return fail("%v (the report is written but not signed)", err)
			}
		}
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return fail("write report: %v", err)
	}
	if failOnConds.Failing(report.VerdictOf(r)) {
		return exitRestricted
	}
	return exitOK
}

// envMemoryLimit is the memory limit a one-off scan keeps to: the Go
// runtime's, when GOMEMLIMIT set one; none otherwise (the service takes
// its limit from the config).
func envMemoryLimit() int64 {
	if l := debug.SetMemoryLimit(-1); l < math.MaxInt64 {
		return l
	}
	return 0
}

// openTarget opens what a scan reads: the catalog (catFile, or the one
// built in when empty) and the host, a mounted image at root or else this
// machine, running the OS osName names ("" to tell it from the host).
func openTarget(root, osName, catFile string) (*host.Host, *catalog.Catalog, error) {
	var target host.OS
	if osName != "" {
		var err error
		if target, err = host.ParseOS(osName); err != nil {
			return nil, nil, fmt.Errorf("--os: %w", err)
		}
	}
	cat, err := catalog.Load(catFile)
	if err != nil {
		return nil, nil, err
	}
	var h *host.Host
	if root != "" {
		h, err = host.OpenRoot(root, target)
	} else {
		h, err = host.Live(target)
	}
	if err != nil {
		return nil, nil, err
	}
	return h, cat, nil
}
