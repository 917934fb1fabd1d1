package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// A result's history lists its status changes oldest first, only its own
// (not another asset's result of the same check); an integration without
// history answers an empty list, an unknown one a 404, and a missing or
// malformed check_id or asset is a 400 naming the parameter.
func TestResultHistory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putFrameworks("cis_2.0")
	in := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	quiet := f.createIntegration(`{"name":"dev","account_id":"210987654321","frameworks":["cis_2.0"]}`)
	const check = "s3_bucket_public"
	arn, otherARN := "arn:aws:s3:::bucket-a", "arn:aws:s3:::bucket-b"
	asset := citadel.AssetID(in.ID, citadel.SourceAWS, arn)
	other := citadel.AssetID(in.ID, citadel.SourceAWS, otherARN)
	t1 := t0.Add(24 * time.Hour)

	// write stores a scan's result of the check on an asset with the
	// history entry the results step writes for a change.
	write := func(assetID, assetARN, scanID string, at time.Time, prev, next citadel.CheckStatus) citadel.CheckResultHistory {
		t.Helper()
		h := citadel.CheckResultHistory{IntegrationID: in.ID, CheckID: check, AssetID: assetID, ScanID: scanID,
			PreviousStatus: prev, NewStatus: next, ChangedAt: at}
		w := ddb.ResultWrite{Result: citadel.CheckResult{IntegrationID: in.ID, CheckID: check, AssetID: assetID, AssetARN: assetARN,
			ScanID: scanID, FirstScanID: scanID, Status: next, ContentHash: string(next), ScannedAt: at},
			PreviousStatus: prev, HadPrevious: prev != "", History: &h}
		if err := f.store.PutResults(ctx, []ddb.ResultWrite{w}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := write(asset, arn, "scan-0001", t0, "", citadel.StatusPass)
	write(other, otherARN, "scan-0001", t0, "", citadel.StatusFail)
	second := write(asset, arn, "scan-0002", t1, citadel.StatusPass, citadel.StatusFail)

	q := func(integration, check, asset string) string {
		return "/results/history?integration_id=" + integration + "&check_id=" + check + "&asset=" + asset
	}
	tests := []struct {
		name, path string
		status     int
		code, msg  string
		want       []citadel.CheckResultHistory
	}{
		{"pass then fail, oldest first", q(in.ID, check, asset), http.StatusOK, "", "", []citadel.CheckResultHistory{first, second}},
		{"another check: none", q(in.ID, "s3_bucket_versioning", asset), http.StatusOK, "", "", []citadel.CheckResultHistory{}},
		{"an integration without history", q(quiet.ID, check, asset), http.StatusOK, "", "", []citadel.CheckResultHistory{}},
		{"unknown integration", q("int-nope", check, asset), http.StatusNotFound, "not_found", "int-nope", nil},
		{"missing asset", "/results/history?integration_id=" + in.ID + "&check_id=" + check, http.StatusBadRequest, "invalid", `"asset"`, nil},
		{"malformed asset", q(in.ID, check, "arn:aws:s3:::bucket-a"), http.StatusBadRequest, "invalid", `"asset"`, nil},
		{"missing check_id", "/results/history?integration_id=" + in.ID + "&asset=" + asset, http.StatusBadRequest, "invalid", `"check_id"`, nil},
		{"malformed check_id", q(in.ID, "s3%20bucket", asset), http.StatusBadRequest, "invalid", `"check_id"`, nil},
		{"missing integration_id", "/results/history?check_id=" + check + "&asset=" + asset, http.StatusBadRequest, "invalid", `"integration_id"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.do("GET", tt.path, "")
			expect(t, rec, tt.status, tt.code, tt.msg)
			if tt.status != http.StatusOK {
				return
			}
			got := decodeBody[map[string][]citadel.CheckResultHistory](t, rec)
			items, ok := got["items"]
			if !ok || items == nil {
				t.Fatalf("items missing or null: %s", rec.Body.String())
			}
			if d := cmp.Diff(tt.want, items); d != "" {
				t.Errorf("history (-want +got):\n%s", d)
			}
		})
	}
}
