package citadel_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestSummaryNamesFailedShards: a scan whose shards failed succeeds, and its
// summary says which shards, and so which checks in which regions, were not
// scanned; the message names the first few and counts the rest.
func TestSummaryNamesFailedShards(t *testing.T) {
	s02 := citadel.ShardFailure{ShardID: "s02", Regions: []string{"eu-west-1"}, Checks: 12, Reason: "the Prowler task failed: the step ran past its timeout",
		Units: []citadel.ShardUnit{{Region: "eu-west-1", Group: "compute"}}}
	many := make([]citadel.ShardFailure, 5)
	for i := range many {
		many[i] = s02
	}
	for _, tc := range []struct {
		name    string
		results citadel.CheckResultsOutput
		want    string
	}{
		{"none failed", citadel.CheckResultsOutput{ChecksFailed: 3}, "Scan complete: 3 issues found"},
		{"excepted apart", citadel.CheckResultsOutput{ChecksFailed: 3, ChecksExcepted: 2}, "Scan complete: 3 issues found, 2 failures excepted"},
		{"one failed", citadel.CheckResultsOutput{ChecksFailed: 3, ShardsFailed: []citadel.ShardFailure{s02}, ShardsFailedCount: 1, ResultsCarried: 40},
			"Scan complete: 3 issues found; 1 shard failed (its checks not scanned, their results kept): " +
				"shard s02 (12 checks in eu-west-1): the Prowler task failed: the step ran past its timeout"},
		{"more than the output names", citadel.CheckResultsOutput{ShardsFailed: many, ShardsFailedCount: 60},
			"Scan complete: 0 issues found; 60 shards failed (their checks not scanned, their results kept): " +
				s02.String() + "; " + s02.String() + "; " + s02.String() + "; and 57 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := citadel.Summarize(citadel.FinalizeInput{Results: tc.results}, 1)
			if d := cmp.Diff(tc.want, s.Message); d != "" {
				t.Errorf("message (-want +got):\n%s", d)
			}
			if !s.Success || s.ChecksExcepted != tc.results.ChecksExcepted || s.ShardsFailedCount != tc.results.ShardsFailedCount || s.ResultsCarried != tc.results.ResultsCarried ||
				!cmp.Equal(s.ShardsFailed, tc.results.ShardsFailed) {
				t.Errorf("summary %+v", s)
			}
		})
	}
	sum := citadel.ScanSummary{ShardsFailedCount: 1, ResultsCarried: 2, ChecksExcepted: 1}.Add(citadel.ScanSummary{ShardsFailedCount: 2, ResultsCarried: 3, ShardsFailed: many, ChecksExcepted: 4})
	if sum.ShardsFailedCount != 3 || sum.ResultsCarried != 5 || sum.ShardsFailed != nil || sum.ChecksExcepted != 5 {
		t.Errorf("roll-up %+v", sum)
	}
}
