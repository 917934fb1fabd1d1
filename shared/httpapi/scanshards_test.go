package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestGetScanNamesFailedShards: a scan some of whose Prowler shards failed
// succeeded, and GET /scans/{id} shows which shards, checks and regions
// were not scanned, as the document declares.
func TestGetScanNamesFailedShards(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(validIntegration)
	rec := f.do("POST", "/integrations/"+in.ID+"/scans", "")
	expect(t, rec, http.StatusAccepted, "", "")
	sc := decodeBody[citadel.Scan](t, rec)

	failed := citadel.CheckResultsOutput{ChecksExecuted: 8, ChecksPassed: 6, ChecksFailed: 2, ResultsCarried: 5, ShardsFailedCount: 1,
		ShardsFailed: []citadel.ShardFailure{{ShardID: "s02", Regions: []string{"eu-west-1"}, Checks: 12,
			Units:  []citadel.ShardUnit{{Region: "eu-west-1", Group: "compute"}, {Region: "eu-west-1", Group: "storage"}},
			Reason: "the Prowler task failed: the step ran past its timeout"}}}
	stored, err := f.store.GetScan(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	summary := citadel.Summarize(citadel.FinalizeInput{Results: failed}, 42.5)
	stored.Status, stored.FinishedAt, stored.Summary = citadel.ScanSucceeded, t0, &summary
	if _, err := f.store.FinishScan(ctx, stored); err != nil {
		t.Fatal(err)
	}
	rec = f.do("GET", "/scans/"+sc.ID, "")
	expect(t, rec, http.StatusOK, "", "")
	golden(t, "scan_shards_failed", rec.Body.Bytes(), sc.ExecutionARN, "<execution-arn>")
}
