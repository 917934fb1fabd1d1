package localrun_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/localrun"
)

// TestRunShards: every shard runs, at most parallel at once; a failed one
// is its outcome (the Map's per-item Catch), the others succeed.
func TestRunShards(t *testing.T) {
	shards := []citadel.Shard{{ID: "s01"}, {ID: "s02"}, {ID: "s03"}, {ID: "s04"}}
	for _, parallel := range []int{0, 1, 2, 8} {
		var running, peak atomic.Int32
		out, err := localrun.RunShards(context.Background(), shards, parallel, func(_ context.Context, s citadel.Shard) error {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if s.ID == "s02" {
				return errors.New("boom")
			}
			return nil
		}, func(err error) string { return "prowler task failed: " + err.Error() })
		if err != nil {
			t.Fatal(err)
		}
		want := []citadel.ShardOutcome{{ShardID: "s01"}, {ShardID: "s02", Error: citadel.ShardTaskFailed, Cause: "prowler task failed: boom"},
			{ShardID: "s03"}, {ShardID: "s04"}}
		if d := cmp.Diff(want, out); d != "" {
			t.Errorf("parallel %d: outcomes (-want +got):\n%s", parallel, d)
		}
		if p := int(peak.Load()); p > max(parallel, 1) {
			t.Errorf("parallel %d: %d ran at once", parallel, p)
		}
	}
}

func TestRunShardsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out, err := localrun.RunShards(ctx, []citadel.Shard{{ID: "s01"}, {ID: "s02"}}, 1, func(context.Context, citadel.Shard) error {
		cancel()
		return context.Canceled
	}, func(err error) string { return err.Error() })
	if !errors.Is(err, context.Canceled) || out != nil {
		t.Errorf("a cancelled run: %v, %v; want the context's error", out, err)
	}
}
