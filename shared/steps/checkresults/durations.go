package checkresults

import (
	"context"
	"log/slog"
	"math"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file records how long each shard that ran took, per unit, for the
// next scan's plan to size its shards: a shard's manifest DurationSeconds
// shared among its units by their number of checks (the plan's UnitChecks,
// scope.go's unitSeconds),
// merged over the integration's recorded figures. A failed shard records
// nothing, so its units keep the figures of the last scan that ran them.

// recordDurations merges the measured units of the shards that ran. A unit
// whose key or figure the store would refuse is left out (logged): the
// figures only size the next plan.
func (r *run) recordDurations(ctx context.Context, log *slog.Logger) error {
	measured := citadel.ShardDurations{}
	for _, f := range r.files {
		if f.planned == nil || f.manifest == nil {
			continue
		}
		secs := f.manifest.DurationSeconds
		if secs < 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
			log.Warn("shard duration left out", "shard", f.shard, "duration_seconds", secs)
			continue
		}
		for k, v := range unitSeconds(f.planned, secs, r.groupOf) {
			if _, err := citadel.ParseShardUnit(k); err != nil {
				log.Warn("shard unit left out", "shard", f.shard, "unit", k, "error", err)
				continue
			}
			measured[k] += v
		}
	}
	if len(measured) == 0 {
		return nil
	}
	if err := r.h.Store.MergeShardDurations(ctx, r.plan.IntegrationID, measured); err != nil {
		if citadel.IsRetryable(err) {
			return err
		}
		log.Warn("shard durations not recorded", "error", err)
	}
	return nil
}
