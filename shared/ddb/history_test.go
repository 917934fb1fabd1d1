package ddb_test

import (
	"context"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestHistoryAnswersStatusAsOfAScan(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	r := testResult("integ-1", "s3_a", 1, citadel.StatusPass, "scan-01")
	id := citadel.ResultID("integ-1", "s3_a", r.AssetID)
	h := func(scan string, prev, next citadel.CheckStatus) *citadel.CheckResultHistory {
		return &citadel.CheckResultHistory{IntegrationID: "integ-1", CheckID: "s3_a", AssetID: r.AssetID, ScanID: scan, PreviousStatus: prev, NewStatus: next, ChangedAt: rt0}
	}
	if err := store.PutResults(ctx, []ddb.ResultWrite{
		{Result: r, History: h("scan-01", "", citadel.StatusPass)},
		{Result: r, History: h("scan-05", citadel.StatusPass, citadel.StatusFail)},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		scan string
		want citadel.CheckStatus
		ok   bool
	}{{"scan-00", "", false}, {"scan-01", citadel.StatusPass, true}, {"scan-03", citadel.StatusPass, true}, {"scan-05", citadel.StatusFail, true}, {"scan-09", citadel.StatusFail, true}} {
		got, ok, err := store.StatusAsOf(ctx, id, tt.scan)
		if err != nil || got != tt.want || ok != tt.ok {
			t.Errorf("StatusAsOf(%s) = %q, %v, %v; want %q, %v", tt.scan, got, ok, err, tt.want, tt.ok)
		}
	}
}
