package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/avscout/avscout/internal/agent"
	svcunit "github.com/avscout/avscout/internal/agent/unit"
	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/detect/sources"
	"github.com/avscout/avscout/internal/host"
)

// runOptions are `service run`'s flags beyond the config.
type runOptions struct {
	configPath string
	scm        bool
	once       bool
	root       string
	target     string
	interval   time.Duration
	splay      time.Duration
}

func runServiceRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("service run")
	var o runOptions
	fs.StringVar(&o.configPath, "config", "", "config `FILE` (default: the OS's standard path)")
	fs.BoolVar(&o.scm, "scm", false, "the Windows service manager started this process (set by `service install`)")
	fs.BoolVar(&o.once, "once", false, "scan once, queue and deliver the report, then exit")
	fs.StringVar(&o.root, "root", "", "scan `DIR` as the target's root instead of this machine (an image scanned on a schedule)")
	fs.StringVar(&o.target, "os", "", "target OS with --root: linux, windows or darwin (default: detected)")
	fs.DurationVar(&o.interval, "interval", 0, "override the config's scan interval (testing)")
	fs.DurationVar(&o.splay, "splay", -1, "override the config's first-scan splay (testing)")
	if code, ok := parseFlags(fs, "Runs the agent's loop: scans on schedule and delivers the reports (what the service manager runs).", args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "avscout service run: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	eff, err := loadConfig(o.configPath, o.configPath != "")
	if err != nil {
		fmt.Fprintf(stderr, "avscout service run: %v\n", err)
		return exitUsage
	}
	logger, closeLog, err := agent.NewLogger(eff.Config.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "avscout service run: %v\n", err)
		return exitUsage
	}
	defer closeLog()
	if o.scm || isWindowsService() {
		logger = withEventLog(logger, svcunit.Name(runtime.GOOS))
	}
	for _, w := range eff.Warnings {
		logger.Warn("config", "warning", w)
	}
	if err := agent.LowerPriority(); err != nil {
		logger.Warn("could not lower the scan priority", "err", err)
	}
	d, err := newDaemon(eff.Config, o, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		fmt.Fprintf(stderr, "avscout service run: %v\n", err)
		return exitUsage
	}
	defer d.Close()

	if o.once {
		sum, err := d.Once(ctx)
		if err == nil {
			fmt.Fprintf(stdout, "avscout service run --once: %s\n", sum)
			err = sum.Err()
		}
		if err != nil {
			fmt.Fprintf(stderr, "avscout service run --once: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	if o.scm || isWindowsService() {
		if err := runUnderSCM(svcunit.Name(runtime.GOOS), d.Run, logger); err != nil {
			logger.Error("service manager", "err", err)
			fmt.Fprintf(stderr, "avscout service run: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Info("avscout service running in the foreground", "version", version, "pid", os.Getpid())
	if err := d.Run(ctx); err != nil {
		logger.Error("service loop ended", "err", err)
		return exitUsage
	}
	logger.Info("avscout service stopped")
	return exitOK
}

// newDaemon wires the service from the config and `service run`'s flags.
func newDaemon(cfg config.Config, o runOptions, logger *slog.Logger) (*agent.Daemon, error) {
	opts := agent.DaemonOptions{
		Root:     o.root,
		Interval: o.interval,
		Version:  version,
		Logger:   logger,
	}
	if o.root == "" {
		opts.PublicStatusFile = config.PublicStatusFile(runtime.GOOS)
	}
	if o.target != "" {
		target, err := host.ParseOS(o.target)
		if err != nil {
			return nil, fmt.Errorf("--os: %w", err)
		}
		opts.Target = target
	}
	if o.splay >= 0 {
		opts.Splay = &o.splay
	}
	return agent.NewDaemon(cfg, opts)
}

// loadConfig loads the effective config of this machine: the file (path,
// or the OS's standard one), the environment and the MDM-managed settings.
func loadConfig(path string, explicit bool) (*config.Effective, error) {
	managed, err := managedSettings()
	if err != nil {
		return nil, err
	}
	return config.Load(config.LoadOptions{
		OS:        config.OS(runtime.GOOS),
		Path:      path,
		Explicit:  explicit,
		LookupEnv: os.LookupEnv,
		Managed:   managed,
		Euid:      os.Geteuid(),
		Sources:   sources.Names(host.OS(runtime.GOOS)),
	})
}
