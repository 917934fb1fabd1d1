package localrun

import (
	"context"
	"sync"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// RunShards is the state machine's prowler Map, locally: run for each shard,
// at most parallel at once (1 when less), each outcome in the shards' order.
// As the Map's per-item Catch does, a shard's error is its outcome
// (citadel.ShardTaskFailed and reason(err) as the cause), never the
// whole step's; only the context's end stops the run, with its error.
func RunShards(ctx context.Context, shards []citadel.Shard, parallel int, run func(context.Context, citadel.Shard) error, reason func(error) string) ([]citadel.ShardOutcome, error) {
	parallel = max(parallel, 1)
	out := make([]citadel.ShardOutcome, len(shards))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, s := range shards {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = citadel.ShardOutcome{ShardID: s.ID}
			if err := run(ctx, s); err != nil {
				out[i].Error, out[i].Cause = citadel.ShardTaskFailed, reason(err)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
