package ddb

import (
	"context"
	"maps"
	"math"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file is the measured durations of an integration's Prowler shard
// units: INTEG#<id> / SHARDTIMES, one item a map of unit key to seconds.

// MaxShardUnits bounds the units one item records (17 regions × some
// groups is a few hundred; a unit key is ~30 bytes).
const MaxShardUnits = 2000

type shardDurationsItem struct {
	item
	IntegrationID string
	Seconds       map[string]float64 `dynamo:",omitempty"`
}

// ShardDurations returns the recorded unit durations of an integration
// (empty, not an error, when none are recorded yet).
func (s *Store) ShardDurations(ctx context.Context, integrationID string) (citadel.ShardDurations, error) {
	var it shardDurationsItem
	err := s.get(ctx, shardDurationsKey(integrationID), &it, "shard durations of integration "+integrationID)
	if citadel.IsNotFound(err) {
		return citadel.ShardDurations{}, nil
	}
	if err != nil {
		return nil, err
	}
	return citadel.ShardDurations(it.Seconds), nil
}

// MergeShardDurations records measured unit durations of a scan over the
// recorded ones: a unit measured now replaces its old figure, the others
// stay (a failed shard or a narrower scan measured nothing of theirs).
// Negative, NaN and infinite figures are refused.
func (s *Store) MergeShardDurations(ctx context.Context, integrationID string, measured citadel.ShardDurations) error {
	if len(measured) == 0 {
		return nil
	}
	for k, v := range measured {
		if _, err := citadel.ParseShardUnit(k); err != nil {
			return err
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return citadel.Invalid("shard unit %s: duration %v is not a number of seconds", k, v)
		}
	}
	have, err := s.ShardDurations(ctx, integrationID)
	if err != nil {
		return err
	}
	merged := maps.Clone(have)
	if merged == nil {
		merged = citadel.ShardDurations{}
	}
	maps.Copy(merged, measured)
	if len(merged) > MaxShardUnits {
		return citadel.Invalid("integration %s: %d shard units exceed the %d recorded", integrationID, len(merged), MaxShardUnits)
	}
	it := shardDurationsItem{newItem(TypeShardDurations, shardDurationsKey(integrationID)), integrationID, merged}
	return s.put(ctx, it, "")
}
