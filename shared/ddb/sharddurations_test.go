package ddb_test

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestShardDurations(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	got, err := store.ShardDurations(ctx, "int-1")
	if err != nil || len(got) != 0 {
		t.Fatalf("none recorded: %v, %v", got, err)
	}
	steps := []struct {
		measured citadel.ShardDurations
		want     citadel.ShardDurations
	}{
		{citadel.ShardDurations{"us-east-1/compute": 40, "global/identity": 12.5}, citadel.ShardDurations{"us-east-1/compute": 40, "global/identity": 12.5}},
		// a later scan measured one unit: the other keeps its figure
		{citadel.ShardDurations{"us-east-1/compute": 55}, citadel.ShardDurations{"us-east-1/compute": 55, "global/identity": 12.5}},
		{nil, citadel.ShardDurations{"us-east-1/compute": 55, "global/identity": 12.5}},
	}
	for i, st := range steps {
		if err := store.MergeShardDurations(ctx, "int-1", st.measured); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got, err := store.ShardDurations(ctx, "int-1")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(st.want, got); d != "" {
			t.Errorf("step %d (-want +got):\n%s", i, d)
		}
	}
	if other, _ := store.ShardDurations(ctx, "int-2"); len(other) != 0 {
		t.Errorf("another integration's durations: %v", other)
	}
}

func TestShardDurationsRefused(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	for name, bad := range map[string]citadel.ShardDurations{
		"no group":  {"us-east-1": 3},
		"no region": {"/compute": 3},
		"negative":  {"us-east-1/compute": -1},
		"NaN":       {"us-east-1/compute": math.NaN()},
		"infinite":  {"us-east-1/compute": math.Inf(1)},
	} {
		t.Run(name, func(t *testing.T) {
			err := store.MergeShardDurations(ctx, "int-1", bad)
			if !citadel.IsInvalid(err) {
				t.Fatalf("got %v, want an invalid-input error", err)
			}
		})
	}
	if got, _ := store.ShardDurations(ctx, "int-1"); len(got) != 0 {
		t.Errorf("a refused merge wrote %v", got)
	}
}
