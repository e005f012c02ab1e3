package bot

import (
	"context"
	"time"

	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// SweepVSphere removes, every interval until ctx ends, the marked machines
// builds left in vCenter that are older than vsphere.leftover_max_age
// (longer than any build may run), sparing those of builds still queued or
// running anywhere in the fleet (the shared database knows them).
func (b *Bot) SweepVSphere(ctx context.Context, cfg vsphere.Config, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		b.sweepVSphereOnce(ctx, cfg)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Bot) sweepVSphereOnce(ctx context.Context, cfg vsphere.Config) {
	var active []string
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		bs, err := state.ActiveBuilds(ctx, tx)
		for _, bd := range bs {
			active = append(active, bd.ID)
		}
		return err
	})
	if err != nil {
		b.log.Warn().Err(err).Msg("vsphere sweep: list active builds")
		return
	}
	removed, err := vsphere.Sweep(ctx, cfg, 0, active...)
	for _, name := range removed {
		b.log.Info().Str("vm", name).Msg("vsphere sweep: removed a leftover machine")
	}
	if err != nil {
		b.log.Warn().Err(err).Msg("vsphere sweep")
	}
}
