package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/testkit/golden"
)

// TestPrintScanNamesFailedShards: `citadel scans show` of a scan some of
// whose Prowler shards failed says which shards, checks and regions were
// not scanned; a scan without failed shards prints no shards line.
func TestPrintScanNamesFailedShards(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	results := citadel.CheckResultsOutput{ChecksExecuted: 8, ChecksPassed: 6, ChecksFailed: 2, ResultsCarried: 5, ShardsFailedCount: 3,
		ShardsFailed: []citadel.ShardFailure{
			{ShardID: "s02", Regions: []string{"eu-west-1"}, Checks: 12, Units: []citadel.ShardUnit{{Region: "eu-west-1", Group: "compute"}},
				Reason: "the Prowler task failed: the step ran past its timeout"},
			{ShardID: "s05", Regions: []string{"us-east-1"}, Checks: 4, Units: []citadel.ShardUnit{{Region: citadel.ShardGlobalRegion, Group: "identity"}},
				Reason: "the Prowler task wrote no manifest"},
		}}
	for _, tc := range []struct {
		name    string
		results citadel.CheckResultsOutput
	}{
		{"scan_shards_failed.txt", results},
		{"scan_all_shards_ran.txt", citadel.CheckResultsOutput{ChecksExecuted: 8, ChecksPassed: 6, ChecksFailed: 2}},
	} {
		summary := citadel.Summarize(citadel.FinalizeInput{Results: tc.results}, 61.5)
		v := httpapi.ScanView{Scan: citadel.Scan{ID: "scan-1", IntegrationID: "int-1", Status: citadel.ScanSucceeded, Trigger: citadel.TriggerAPI,
			CreatedAt: at, StartedAt: at, FinishedAt: at.Add(time.Minute), Summary: &summary}}
		var out bytes.Buffer
		if err := printScan(&out, v); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, tc.name, out.Bytes())
	}
}
