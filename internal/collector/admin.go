package collector

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Pruner deletes old history; [*store.Store] is one.
type Pruner interface {
	Prune(ctx context.Context, keep time.Duration) (int64, error)
}

// RunRetention prunes history older than keep now and then every
// interval until ctx ends. Replicas may all run it: pruning is idempotent.
func RunRetention(ctx context.Context, p Pruner, keep, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := p.Prune(ctx, keep)
		switch {
		case errors.Is(err, context.Canceled):
			return
		case err != nil:
			log.Error("pruning history", "err", err)
		case n > 0:
			log.Info("pruned history", "reports", n, "older_than", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
