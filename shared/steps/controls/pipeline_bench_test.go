package controls_test

// The benchmark of steps 4–6 (controls, policies, evidence) over one
// integration's results, recorded in docs/benchmarks.md. It imports the
// other two steps: test code only, the steps themselves stay independent.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/controls"
	"github.com/citadelsecure/citadel/shared/steps/evidence"
	"github.com/citadelsecure/citadel/shared/steps/policies"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// benchCatalog is a synthetic catalog shaped like the real one: 300 checks,
// two thirds linked to 1–2 of 150 SCF controls, the rest mapped to two
// requirements each; every SCF control maps to three requirements; 20
// policy templates govern 10 SCF controls each.
func benchCatalog(b *testing.B, ctx context.Context, s *ddb.Store) []string {
	var checks []citadel.SecurityCheck
	var links []citadel.CheckSCFLink
	var scfs []citadel.SCFControl
	var maps []citadel.SCFFrameworkMapping
	var reqs []citadel.RequirementNode
	for i := range 150 {
		id := fmt.Sprintf("SCF-%03d", i)
		scfs = append(scfs, citadel.SCFControl{ID: id, Domain: "SCF", Title: "Control " + id, Description: strings.Repeat("Mechanisms exist. ", 10)})
		for j := range 3 {
			ref := fmt.Sprintf("r%03d", (i*3+j)%200)
			maps = append(maps, citadel.SCFFrameworkMapping{SCFID: id, RequirementID: "bench:" + ref, FrameworkID: "bench", Relationship: citadel.RelIntersect})
		}
	}
	for i := range 200 {
		ref := fmt.Sprintf("r%03d", i)
		reqs = append(reqs, citadel.RequirementNode{ID: "bench:" + ref, FrameworkID: "bench", RefID: ref, Name: "Requirement " + ref, Assessable: true, Weight: 1})
	}
	var ids []string
	for i := range 300 {
		id := fmt.Sprintf("check_%03d", i)
		ids = append(ids, id)
		c := citadel.SecurityCheck{ID: id, Title: "Check " + id, Service: "svc", Severity: citadel.SeverityMedium}
		switch {
		case i < 200:
			links = append(links, citadel.CheckSCFLink{CheckID: id, SCFID: fmt.Sprintf("SCF-%03d", i%150), Rank: 1, Score: 0.9})
			if i%2 == 0 {
				links = append(links, citadel.CheckSCFLink{CheckID: id, SCFID: fmt.Sprintf("SCF-%03d", (i+7)%150), Rank: 2, Score: 0.5})
			}
			if i%3 == 0 {
				c.MappedRequirements = []string{fmt.Sprintf("bench:r%03d", i%200)}
			}
		default:
			c.MappedRequirements = []string{fmt.Sprintf("bench:r%03d", i%200), fmt.Sprintf("bench:r%03d", (i+1)%200)}
		}
		checks = append(checks, c)
	}
	var templates []citadel.ReferenceControl
	for i := range 20 {
		t := citadel.ReferenceControl{ID: fmt.Sprintf("POL.T%02d", i), Name: "Template", Description: "A policy.", Category: citadel.CategoryPolicy}
		for j := range 10 {
			t.SCFIDs = append(t.SCFIDs, fmt.Sprintf("SCF-%03d", (i*10+j)%150))
		}
		templates = append(templates, t)
	}
	for _, err := range []error{s.PutChecks(ctx, checks), s.PutCheckSCFLinks(ctx, links), s.PutSCFControls(ctx, scfs),
		s.PutSCFMappings(ctx, maps), s.PutRequirements(ctx, reqs), s.PutReferenceControls(ctx, templates)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

func benchResults(n int, checks []string, scan string, drift int) []citadel.CheckResult {
	assets := (n + len(checks) - 1) / len(checks)
	raw := strings.Repeat("x", 900)
	out := make([]citadel.CheckResult, 0, n)
	for i := range n {
		check, asset := checks[i%len(checks)], i/len(checks)
		arn := fmt.Sprintf("arn:aws:s3:::bench-bucket-%05d", asset%assets)
		st := citadel.StatusPass
		if i%4 == 0 {
			st = citadel.StatusFail
		}
		if drift > 0 && i%drift == 0 { // a changed result
			st = citadel.StatusError
		}
		body := fmt.Sprintf(`{"metadata":{"event_code":%q},"status_code":%q,"resources":[{"uid":%q}],"pad":%q}`, check, strings.ToUpper(string(st)), arn, raw)
		out = append(out, citadel.CheckResult{IntegrationID: "int-b", CheckID: check, AssetID: citadel.AssetID("int-b", citadel.SourceAWS, arn),
			AssetARN: arn, ScanID: scan, Status: st, RawOutput: []byte(body), ContentHash: citadel.ContentSHA256([]byte(body)), ScannedAt: t0})
	}
	return out
}

type stepFigures struct {
	d     time.Duration
	usage citadel.Usage
}

func runSteps(b *testing.B, ctx context.Context, s *ddb.Store, rs memResults, scan string) (figs [3]stepFigures, outs [3]any) {
	p := citadel.PlanOutput{FolderID: "f-bench", IntegrationID: "int-b", ScanID: scan}
	clock := func() time.Time { return t0 }
	start := time.Now()
	co, err := (&controls.Handler{Store: s, Catalog: s, Results: rs, Env: stepfn.Env{Clock: clock}}).Handle(ctx, citadel.ControlsInput{Plan: p})
	if err != nil {
		b.Fatal(err)
	}
	figs[0] = stepFigures{time.Since(start), co.Usage}
	start = time.Now()
	po, err := (&policies.Handler{Store: s, Catalog: s, Env: stepfn.Env{Clock: clock}}).Handle(ctx, citadel.PoliciesInput{Plan: p})
	if err != nil {
		b.Fatal(err)
	}
	figs[1] = stepFigures{time.Since(start), po.Usage}
	start = time.Now()
	eo, err := (&evidence.Handler{Store: s, Catalog: s, Results: rs, Assets: s, Env: stepfn.Env{Clock: clock}}).Handle(ctx, citadel.EvidenceInput{Plan: p})
	if err != nil {
		b.Fatal(err)
	}
	figs[2] = stepFigures{time.Since(start), eo.Usage}
	co.Usage, po.Usage, eo.Usage = citadel.Usage{}, citadel.Usage{}, citadel.Usage{}
	return figs, [3]any{co, po, eo}
}

// BenchmarkSteps4to6 runs controls, policies and evidence over
// CITADEL_BENCH_RESULTS results (default 100,000) of one integration: a
// first scan (everything created), then a rescan with 1% of the results
// changed. It reports each step's time, requests and write units.
func BenchmarkSteps4to6(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CITADEL_BENCH_RESULTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		s := testenv.Store(b)
		checks := benchCatalog(b, ctx, s)
		first := benchResults(n, checks, "scn-1", 0)
		var assets []citadel.Asset
		seen := map[string]bool{}
		for _, r := range first {
			if !seen[r.AssetARN] {
				seen[r.AssetARN] = true
				assets = append(assets, citadel.Asset{IntegrationID: "int-b", Source: citadel.SourceAWS, SourceID: r.AssetARN, ServiceType: "s3_bucket",
					Name: strings.TrimPrefix(r.AssetARN, "arn:aws:s3:::"), Region: "us-east-1", AccountID: "123456789012", IsActive: true, FirstSeen: t0, LastSeen: t0})
			}
		}
		if err := s.PutAssets(ctx, assets); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		figs, outs := runSteps(b, ctx, s, memResults{"int-b": first}, "scn-1")
		refigs, reouts := runSteps(b, ctx, s, memResults{"int-b": benchResults(n, checks, "scn-2", 100)}, "scn-2")
		b.StopTimer()
		names := []string{"controls", "policies", "evidence"}
		for i, f := range figs {
			b.ReportMetric(f.d.Seconds(), "s-first-"+names[i])
			b.ReportMetric(float64(f.usage.Requests), "req-first-"+names[i])
			b.ReportMetric(f.usage.WriteUnits, "wcu-first-"+names[i])
			b.ReportMetric(refigs[i].d.Seconds(), "s-rescan-"+names[i])
			b.ReportMetric(float64(refigs[i].usage.Requests), "req-rescan-"+names[i])
			b.ReportMetric(refigs[i].usage.WriteUnits, "wcu-rescan-"+names[i])
		}
		b.Logf("%d results; first scan: %+v %+v %+v; rescan (1%% changed): %+v %+v %+v", n, outs[0], outs[1], outs[2], reouts[0], reouts[1], reouts[2])
		b.StartTimer()
	}
}
