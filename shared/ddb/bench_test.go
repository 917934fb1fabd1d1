package ddb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// BenchmarkPutResults10k writes 10,000 check results (a Prowler-shaped raw
// finding and snapshot each, with their first history entries) to the local
// server and reports items per second and write units per result.
func BenchmarkPutResults10k(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	raw, err := json.Marshal(ocsftest.Finding(ocsftest.Spec{Check: "s3_bucket_default_encryption", StatusCode: "FAIL",
		UIDs: []string{"arn:aws:s3:::bucket-00001"}}))
	if err != nil {
		b.Fatal(err)
	}
	writes := make([]ddb.ResultWrite, n)
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for i := range writes {
		r := citadel.CheckResult{
			IntegrationID: "int-bench", CheckID: fmt.Sprintf("check_%03d", i%200), AssetID: fmt.Sprintf("asset-%05d", i/200),
			AssetARN: fmt.Sprintf("arn:aws:s3:::bucket-%05d", i/200), ScanID: "scn-bench", Status: citadel.StatusFail,
			StatusExtended: "S3 Bucket does not have default encryption enabled.", Severity: citadel.SeverityMedium,
			Region: "us-east-1", RawOutput: raw, ResourceSnapshot: []byte(`{"name":"bucket","versioning":false}`),
			ContentHash: fmt.Sprintf("h%d", i), ScannedAt: at, FirstScanID: "scn-bench",
		}
		writes[i] = ddb.ResultWrite{Result: r, History: &citadel.CheckResultHistory{IntegrationID: r.IntegrationID,
			CheckID: r.CheckID, AssetID: r.AssetID, ScanID: r.ScanID, NewStatus: r.Status, ChangedAt: at}}
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s := testenv.Store(b)
		b.StartTimer()
		start := time.Now()
		if err := s.PutResults(ctx, writes); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		u := s.Usage()
		b.ReportMetric(float64(n)/elapsed.Seconds(), "results/s")
		b.ReportMetric(u.WriteUnits/n, "WCU/result")
		b.ReportMetric(float64(u.Requests), "requests")
	}
}
