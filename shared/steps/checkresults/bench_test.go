package checkresults_test

import (
	"context"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
)

// BenchmarkScanUsage runs the step against the local DynamoDB on 10,000
// findings three times: a first scan, an unchanged rescan and a rescan with
// 1% drift, and reports DynamoDB requests and write units per finding.
// Times are the local server's, not DynamoDB's.
func BenchmarkScanUsage(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		spec := ocsftest.Standard(e.account)
		arns := make([]string, n)
		for j := range arns {
			arns[j] = spec(j).UIDs[0]
		}
		e.seed(ocsftest.Checks, arns)
		drift := func(j int) ocsftest.Spec {
			s := spec(j)
			if j%100 == 0 {
				s.StatusCode = "FAIL"
			}
			return s
		}
		e.putScan("scan-01", generated(b, n, spec), nil)
		e.putScan("scan-02", generated(b, n, spec), nil)
		e.putScan("scan-03", generated(b, n, drift), nil)
		h := e.handler()
		h.Writers = 8
		for _, sc := range []struct{ scan, name string }{{"scan-01", "first"}, {"scan-02", "rescan"}, {"scan-03", "drift1pct"}} {
			out, err := h.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan(sc.scan)})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(out.Usage.Requests)/n, sc.name+"-req/finding")
			b.ReportMetric(out.Usage.WriteUnits/n, sc.name+"-WCU/finding")
			b.ReportMetric(out.Usage.ReadUnits/n, sc.name+"-RCU/finding")
		}
	}
}
