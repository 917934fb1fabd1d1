package citadel_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestUnitDurations(t *testing.T) {
	s := citadel.PlannedShard{UnitChecks: map[string]int{"us-east-1/compute": 30, "eu-west-1/compute": 30, "global/identity": 40, "us-east-1/ml": 0}}
	cases := []struct {
		name    string
		shard   citadel.PlannedShard
		seconds float64
		want    citadel.ShardDurations
	}{
		{name: "by checks", shard: s, seconds: 200, want: citadel.ShardDurations{"us-east-1/compute": 60, "eu-west-1/compute": 60, "global/identity": 80}},
		{name: "no units", shard: citadel.PlannedShard{}, seconds: 200, want: citadel.ShardDurations{}},
		{name: "not a duration", shard: s, seconds: math.NaN(), want: citadel.ShardDurations{}},
		{name: "negative", shard: s, seconds: -1, want: citadel.ShardDurations{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, tc.shard.UnitDurations(tc.seconds)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
