package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/avscout/avscout/internal/agent"
	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/detect/sources"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/logfile"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/scan"
	"github.com/avscout/avscout/internal/spool"
	"github.com/avscout/avscout/internal/transport"
)

// Files and folders under the state directory.
const (
	stateFileName = "state.json"
	spoolDirName  = "spool"
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
	logger, closeLog, err := serviceLogger(eff.Config.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "avscout service run: %v\n", err)
		return exitUsage
	}
	defer closeLog()
	if o.scm || isWindowsService() {
		logger = withEventLog(logger, serviceName(runtime.GOOS))
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
	defer d.close()

	if o.once {
		res, err := d.once(ctx)
		if res != nil {
			fmt.Fprintf(stdout, "avscout service run --once: %s\n", res)
		}
		if err != nil {
			fmt.Fprintf(stderr, "avscout service run --once: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	if o.scm || isWindowsService() {
		if err := runUnderSCM(serviceName(runtime.GOOS), d.run, logger); err != nil {
			logger.Error("service manager", "err", err)
			fmt.Fprintf(stderr, "avscout service run: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Info("avscout service running in the foreground", "version", version, "pid", os.Getpid())
	if err := d.run(ctx); err != nil {
		logger.Error("service loop ended", "err", err)
		return exitUsage
	}
	logger.Info("avscout service stopped")
	return exitOK
}

// daemon is the service's parts wired together from the config.
type daemon struct {
	agent   *agent.Agent
	spool   *spool.Spool
	deliver *transport.Deliverer
	logger  *slog.Logger
}

func newDaemon(cfg config.Config, o runOptions, logger *slog.Logger) (*daemon, error) {
	// The runtime's soft limit (GOMEMLIMIT) from the config: the collector
	// works harder before the unit's MemoryMax is reached, and a scan that
	// would pass it is stopped (scan.Run) instead of the service killed.
	if cfg.Scan.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.Scan.MemoryLimit)
		logger.Info("memory limit", "bytes", cfg.Scan.MemoryLimit)
	}
	cat, err := catalog.Default()
	if err != nil {
		return nil, err
	}
	var target host.OS
	if o.target != "" {
		if target, err = host.ParseOS(o.target); err != nil {
			return nil, fmt.Errorf("--os: %w", err)
		}
	}
	scanHost := func() (*host.Host, error) {
		if o.root != "" {
			return host.OpenRoot(o.root, target)
		}
		return host.Live(target)
	}
	if _, err := scanHost(); err != nil {
		return nil, err
	}
	stateDir := cfg.StateDir
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	sp, err := spool.Open(filepath.Join(stateDir, spoolDirName),
		spool.Limits{MaxReports: cfg.Spool.MaxReports, MaxBytes: cfg.Spool.MaxBytes}, logger)
	if err != nil {
		return nil, err
	}
	state := agent.OpenState(filepath.Join(stateDir, stateFileName), logger)
	if p := publicStatusFile(runtime.GOOS); p != "" && o.root == "" { // an image's scans are not this host's status
		state.Publish(p, staleAfter(cfg.Schedule))
	}
	d := &daemon{spool: sp, logger: logger}

	sched := agent.Schedule{
		Splay:    time.Duration(cfg.Schedule.Splay),
		Interval: time.Duration(cfg.Schedule.Interval),
		Jitter:   time.Duration(cfg.Schedule.Jitter),
	}
	if o.interval > 0 {
		sched.Interval, sched.Jitter = o.interval, 0
	}
	if o.splay >= 0 {
		sched.Splay = o.splay
	}
	d.agent = &agent.Agent{
		Queue:    sp,
		Schedule: sched,
		State:    state,
		Logger:   logger,
		Scan: func(ctx context.Context) (*report.Report, error) {
			h, err := scanHost()
			if err != nil {
				return nil, err
			}
			return scan.Run(ctx, scan.Options{
				Host:          h,
				Catalog:       cat,
				Sources:       cfg.Scan.Sources,
				SourceTimeout: time.Duration(cfg.Scan.SourceTimeout),
				AgentVersion:  version,
				Tags:          cfg.Tags,
				Logger:        logger,
				MemoryLimit:   cfg.Scan.MemoryLimit,
			})
		},
	}
	if cfg.Collector.URL == "" {
		logger.Warn("no collector.url configured: reports stay in the spool", "spool", filepath.Join(stateDir, spoolDirName))
		return d, nil
	}
	// The key that binds this host's reports to this agent: made now if
	// missing (a spool from before keys is signed at send time). A key
	// that cannot be used does not stop scanning: every delivery retries
	// it and the state says why reports stay queued.
	signer := agentkey.NewSigner(stateDir, logger)
	if k, err := signer.Key(); err != nil {
		logger.Error("agent key unusable: reports stay queued until it is fixed", "err", err)
	} else {
		logger.Info("agent key", "path", k.Path, "fingerprint", k.Fingerprint())
	}
	client, err := transport.New(transport.Options{
		URL:        cfg.Collector.URL,
		Token:      cfg.Collector.Token,
		CAFile:     cfg.Collector.CAFile,
		CAPins:     cfg.Collector.CAPins,
		ClientCert: cfg.Collector.ClientCert,
		ClientKey:  cfg.Collector.ClientKey,
		Proxy:      cfg.Collector.Proxy,
		Timeout:    time.Duration(cfg.Collector.Timeout),
		UserAgent:  "avscout/" + version,
		Signer:     signer,
	})
	if err != nil {
		sp.Close()
		return nil, err
	}
	d.deliver = &transport.Deliverer{
		Client: client,
		Queue:  sp,
		Logger: logger,
		OnResult: func(r transport.Result) {
			recordDelivery(state, r)
		},
	}
	d.agent.Deliver = d.deliver.Run
	return d, nil
}

// recordDelivery keeps the outcome of a delivery pass in the state file.
func recordDelivery(state *agent.StateFile, r transport.Result) {
	state.Update(func(s *agent.State) {
		prev := s.LastDelivery
		ds := agent.DeliveryState{At: r.At.UTC(), Sent: r.Sent, DeadLettered: r.DeadLettered, DeadLetterReason: r.DeadLetterReason}
		if prev != nil {
			ds.LastSuccess = prev.LastSuccess
			if ds.DeadLetterReason == "" {
				ds.DeadLetterReason = prev.DeadLetterReason
			}
		}
		if r.Err != nil {
			ds.Error = r.Err.Error()
		}
		if r.Sent > 0 {
			ds.LastSuccess = r.At.UTC()
		}
		s.LastDelivery = &ds
	})
}

// run is the service loop until ctx ends.
func (d *daemon) run(ctx context.Context) error {
	return d.agent.Run(ctx)
}

// onceResult is what `service run --once` did with the reports.
type onceResult struct {
	noCollector bool
	delivered   int
	queued      int // left in the spool afterwards
	dead        int // moved to dead letters in this run
}

func (r *onceResult) String() string {
	if r.noCollector {
		return fmt.Sprintf("no collector.url configured: %d report(s) queued", r.queued)
	}
	return fmt.Sprintf("%d report(s) delivered, %d queued, %d dead-lettered", r.delivered, r.queued, r.dead)
}

// once scans once, queues, and sends what the spool holds. It says what
// was delivered; a delivery that failed, or a report the collector
// refused for good (a wrong token), is an error naming the reason.
func (d *daemon) once(ctx context.Context) (*onceResult, error) {
	if err := d.agent.RunOnce(ctx); err != nil {
		return nil, err
	}
	res := &onceResult{noCollector: d.deliver == nil}
	var r transport.Result
	if d.deliver != nil {
		r = d.deliver.DrainOnce(ctx)
		if d.deliver.OnResult != nil {
			d.deliver.OnResult(r)
		}
		res.delivered, res.dead = r.Sent, r.DeadLettered
	}
	if st, err := d.spool.Stats(); err == nil {
		res.queued = st.Queued
	}
	switch {
	case r.Err != nil:
		return res, fmt.Errorf("delivery: %w (the report stays queued)", r.Err)
	case r.DeadLettered > 0:
		return res, fmt.Errorf("the collector refused %d report(s) for good; they were moved to dead letters: %s",
			r.DeadLettered, r.DeadLetterReason)
	}
	return res, nil
}

func (d *daemon) close() {
	if err := d.spool.Close(); err != nil {
		d.logger.Warn("close spool", "err", err)
	}
}

// serviceLogger logs JSON lines to the configured file (rotated), or text to
// standard error where the service manager keeps it (the journal).
func serviceLogger(lc config.Log, stderr io.Writer) (*slog.Logger, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lc.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if lc.File == "" {
		return slog.New(slog.NewTextHandler(stderr, opts)), func() {}, nil
	}
	w, err := logfile.Open(lc.File, int64(lc.MaxSizeMB)<<20, lc.MaxFiles)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(slog.NewJSONHandler(w, opts)), func() { w.Close() }, nil
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
