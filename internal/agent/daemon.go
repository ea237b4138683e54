package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/scan"
	"github.com/avscout/avscout/internal/spool"
	"github.com/avscout/avscout/internal/transport"
)

// Files and folders under the config's state directory.
const (
	StateFileName = "state.json" // the [State] `avscout status` reads
	SpoolDirName  = "spool"      // the reports waiting for delivery
)

// DaemonOptions are the service's choices beyond the config: what
// `avscout service run`'s flags and the OS decide.
type DaemonOptions struct {
	// Root, when set, is scanned as the target's root instead of this
	// machine (an image scanned on a schedule).
	Root string
	// Target is the target OS; empty detects it.
	Target host.OS
	// Interval, when positive, replaces the config's scan interval and
	// drops its jitter (testing).
	Interval time.Duration
	// Splay, when not nil, replaces the config's first-scan splay.
	Splay *time.Duration
	// Version is the agent's version, in reports and the User-Agent.
	Version string
	// PublicStatusFile, when set, is where the world-readable summary of
	// the state is published (see [StateFile.Publish] and
	// [config.PublicStatusFile]), with the schedule's
	// [config.Schedule.StaleAfter]; never with Root, as an image's scans
	// are not this host's status.
	PublicStatusFile string
	// Logger receives the service's records; nil discards them.
	Logger *slog.Logger
}

// Daemon is the service's parts wired together from the config: the scan
// loop, the spool it queues to, the state file and, with a collector
// configured, the sender.
type Daemon struct {
	agent   *Agent
	spool   *spool.Spool
	state   *StateFile
	deliver *transport.Deliverer // nil without a collector
	logger  *slog.Logger
}

// NewDaemon wires the service from cfg: it applies the memory limit,
// checks that the scan target opens, creates the state directory, opens
// the spool and state file, makes the agent key and the collector client.
// Close releases what it opened.
func NewDaemon(cfg config.Config, o DaemonOptions) (*Daemon, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
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
	scanHost := func() (*host.Host, error) {
		if o.Root != "" {
			return host.OpenRoot(o.Root, o.Target)
		}
		return host.Live(o.Target)
	}
	if _, err := scanHost(); err != nil {
		return nil, err
	}
	stateDir := cfg.StateDir
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err) // names the path
	}
	spoolDir := filepath.Join(stateDir, SpoolDirName)
	sp, err := spool.Open(spoolDir,
		spool.Limits{MaxReports: cfg.Spool.MaxReports, MaxBytes: cfg.Spool.MaxBytes}, logger)
	if err != nil {
		return nil, err
	}
	state := OpenState(filepath.Join(stateDir, StateFileName), logger)
	if o.PublicStatusFile != "" && o.Root == "" {
		state.Publish(o.PublicStatusFile, cfg.Schedule.StaleAfter())
	}
	d := &Daemon{spool: sp, state: state, logger: logger}

	sched := Schedule{
		Splay:    time.Duration(cfg.Schedule.Splay),
		Interval: time.Duration(cfg.Schedule.Interval),
		Jitter:   time.Duration(cfg.Schedule.Jitter),
	}
	if o.Interval > 0 {
		sched.Interval, sched.Jitter = o.Interval, 0
	}
	if o.Splay != nil {
		sched.Splay = *o.Splay
	}
	d.agent = &Agent{
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
				AgentVersion:  o.Version,
				Tags:          cfg.Tags,
				Logger:        logger,
				MemoryLimit:   cfg.Scan.MemoryLimit,
			})
		},
	}
	if cfg.Collector.URL == "" {
		logger.Warn("no collector.url configured: reports stay in the spool", "spool", spoolDir)
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
		UserAgent:  "avscout/" + o.Version,
		Signer:     signer,
	})
	if err != nil {
		sp.Close()
		return nil, err
	}
	d.deliver = &transport.Deliverer{
		Client:   client,
		Queue:    sp,
		Logger:   logger,
		OnResult: state.RecordDelivery,
	}
	d.agent.Deliver = d.deliver.Run
	return d, nil
}

// Run is the service loop until ctx ends (see [Agent.Run]).
func (d *Daemon) Run(ctx context.Context) error {
	return d.agent.Run(ctx)
}

// Close closes the spool.
func (d *Daemon) Close() {
	if err := d.spool.Close(); err != nil {
		d.logger.Warn("close spool", "err", err)
	}
}

// Once is `avscout service run --once`: it scans once, queues the report,
// and sends what the spool holds in one pass, recording the delivery in
// the state file. The error is the scan's or the queue's; what became of
// the reports is in the summary, whose [DeliverySummary.Err] says whether
// the run failed.
func (d *Daemon) Once(ctx context.Context) (DeliverySummary, error) {
	if err := d.agent.RunOnce(ctx); err != nil {
		return DeliverySummary{}, err
	}
	s := DeliverySummary{NoCollector: d.deliver == nil}
	if d.deliver != nil {
		r := d.deliver.DrainOnce(ctx)
		d.state.RecordDelivery(r)
		s.Delivered, s.DeadLettered, s.DeadLetterReason, s.DeliveryErr = r.Sent, r.DeadLettered, r.DeadLetterReason, r.Err
	}
	if st, err := d.spool.Stats(); err == nil {
		s.Queued = st.Queued
	}
	return s, nil
}
