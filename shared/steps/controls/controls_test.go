package controls_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"
	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/controls"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// memResults serves results from a slice, a page at a time.
type memResults map[string][]citadel.CheckResult

func (m memResults) ListResultHeads(_ context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error) {
	all := m[integrationID]
	start := 0
	if cursor != "" {
		fmt.Sscan(cursor, &start)
	}
	end := min(start+limit, len(all))
	p := citadel.Page[citadel.CheckResult]{Items: all[start:end]}
	if end < len(all) {
		p.Next = fmt.Sprint(end)
	}
	return p, nil
}

func result(integ, check, asset string, st citadel.CheckStatus) citadel.CheckResult {
	return citadel.CheckResult{IntegrationID: integ, CheckID: check, AssetID: asset, AssetARN: "arn:aws:s3:::" + asset,
		ScanID: "scn-1", Status: st, ScannedAt: t0}
}

type env struct {
	store   *ddb.Store
	client  *dynamodb.Client
	table   string
	results memResults
	h       *controls.Handler
}

// seedCatalog stores a small catalog:
//
//	s3_public    → SCF IAC-01 (rank 1) and DCH-01 (rank 2), both through
//	               cis_3.0:2.1.1; maps to cis_3.0:2.1.1
//	trail_on     → SCF MON-01 (through soc2:cc_7_2); maps to nothing (its
//	               requirements come from SCF)
//	iam_rotate   → no SCF link; maps to cis_3.0:1.14 and soc2:cc_6_1 (stage B)
//	orphan_check → no SCF link, no requirement
func seedCatalog(t *testing.T, ctx context.Context, s *ddb.Store) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutChecks(ctx, []citadel.SecurityCheck{
		{ID: "s3_public", Title: "S3 bucket is not public", Service: "s3", Severity: citadel.SeverityHigh, MappedRequirements: []string{"cis_3.0:2.1.1"}},
		{ID: "trail_on", Title: "CloudTrail is on", Service: "cloudtrail", Severity: citadel.SeverityMedium},
		{ID: "iam_rotate", Title: "Access keys are rotated", Service: "iam", Severity: citadel.SeverityLow, MappedRequirements: []string{"cis_3.0:1.14", "soc2:cc_6_1"}},
		{ID: "orphan_check", Title: "Nothing maps me", Service: "ec2", Severity: citadel.SeverityLow},
	}))
	must(s.PutCheckSCFLinks(ctx, []citadel.CheckSCFLink{
		{CheckID: "s3_public", SCFID: "IAC-01", Rank: 1, Score: 0.9, Frameworks: []string{"cis_3.0"}, Requirements: []string{"cis_3.0:2.1.1"}},
		{CheckID: "s3_public", SCFID: "DCH-01", Rank: 2, Score: 0.5, Frameworks: []string{"cis_3.0"}, Requirements: []string{"cis_3.0:2.1.1"}},
		{CheckID: "trail_on", SCFID: "MON-01", Rank: 1, Score: 0.8, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_7_2"}},
	}))
	must(s.PutSCFControls(ctx, []citadel.SCFControl{
		{ID: "IAC-01", Domain: "IAC", Title: "Identity & Access Management", Description: "Mechanisms exist to manage identities."},
		{ID: "DCH-01", Domain: "DCH", Title: "Data Protection", Description: "Mechanisms exist to protect data."},
		{ID: "MON-01", Domain: "MON", Title: "Continuous Monitoring", Description: "Mechanisms exist to monitor."},
	}))
	must(s.PutSCFMappings(ctx, []citadel.SCFFrameworkMapping{
		{SCFID: "MON-01", RequirementID: "soc2:cc_7_2", FrameworkID: "soc2", Relationship: citadel.RelSubset},
		{SCFID: "MON-01", RequirementID: "iso27001_2022:A.8.15", FrameworkID: "iso27001_2022", Relationship: citadel.RelIntersect},
		{SCFID: "IAC-01", RequirementID: "soc2:cc_6_1", FrameworkID: "soc2", Relationship: citadel.RelEqual},
	}))
	must(s.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "cis_3.0:1.14", FrameworkID: "cis_3.0", RefID: "1.14", Name: "Ensure access keys are rotated every 90 days or less", Assessable: true, Weight: 1},
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Description: "Logical access security software\nmore text", Assessable: true, Weight: 1},
	}))
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, table := testenv.Table(t, cfg)
	s := ddb.NewFromClient(client, table)
	seedCatalog(t, ctx, s)
	e := &env{store: s, client: client, table: table, results: memResults{}}
	e.h = &controls.Handler{Store: s, Catalog: s, Results: e.results, Env: stepfn.Env{Clock: func() time.Time { return t0 }}}
	return e
}

func plan(integ, scan string) citadel.ControlsInput {
	return citadel.ControlsInput{Plan: citadel.PlanOutput{FolderID: "f1", IntegrationID: integ, ScanID: scan}}
}

func (e *env) run(t *testing.T, integ, scan string) citadel.ControlsOutput {
	t.Helper()
	out, err := e.h.Handle(context.Background(), plan(integ, scan))
	if err != nil {
		t.Fatal(err)
	}
	out.Usage = citadel.Usage{}
	return out
}

// dump reads the whole table (a test-only Scan), keyed and sorted.
func (e *env) dump(t *testing.T) []map[string]any {
	t.Helper()
	var items []map[string]any
	if err := dynamo.NewFromIface(e.client).Table(e.table).Scan().All(context.Background(), &items); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(items, func(a, b map[string]any) int {
		return cmpKey(fmt.Sprint(a["PK"], "|", a["SK"]), fmt.Sprint(b["PK"], "|", b["SK"]))
	})
	return items
}

func cmpKey(a, b string) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func standardResults() []citadel.CheckResult {
	return []citadel.CheckResult{
		result("int-1", "s3_public", "bucket-a", citadel.StatusPass),
		result("int-1", "s3_public", "bucket-b", citadel.StatusFail),
		result("int-1", "trail_on", "trail-1", citadel.StatusPass),
		result("int-1", "iam_rotate", "user-1", citadel.StatusError),
		result("int-1", "orphan_check", "vpc-1", citadel.StatusFail),
		result("int-1", "removed_from_catalog", "bucket-a", citadel.StatusFail),
	}
}

type controlView struct {
	RefID, Name, Description string
	SCF, SourceRequirement   string
	Posture                  citadel.Posture
	Counts                   [3]int
	Checks                   []string
	Mappings                 []string
	Assets                   []string
	CheckLinks               []string // "check (origin): why"
}

func (e *env) view(t *testing.T) map[string]controlView {
	t.Helper()
	ctx := context.Background()
	all, err := e.store.AllControls(ctx, "f1")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]controlView{}
	for _, c := range all {
		v := controlView{RefID: c.RefID, Name: c.Name, Description: c.Description, SCF: c.SCFControlID, SourceRequirement: c.SourceRequirementID,
			Posture: c.Posture, Counts: [3]int{c.PassCount, c.FailCount, c.ErrorCount}, Checks: c.SecurityCheckIDs}
		ms, err := e.store.RequirementsOfControl(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			v.Mappings = append(v.Mappings, m.RequirementID+" ("+string(m.Source)+")")
		}
		links, err := e.store.LinksOfControl(ctx, c.ID, citadel.LinkAsset)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			v.Assets = append(v.Assets, l.TargetID+" ("+string(l.Origin)+")")
		}
		checks, err := e.store.LinksOfControl(ctx, c.ID, citadel.LinkCheck)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range checks {
			why := "no why"
			if l.Why != nil {
				why = l.Why.Summary
			}
			v.CheckLinks = append(v.CheckLinks, l.TargetID+" ("+string(l.Origin)+"): "+why)
		}
		out[c.RefID] = v
	}
	return out
}

func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(b)+"\n"); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

// TestStagesAndRequirementSources: checks with an SCF link make SCF
// controls (stage A) whose requirements come from Prowler's mappings when
// the checks have some (s3_public → prowler) and from the SCF framework
// mappings otherwise (trail_on → scf); checks without a link make one
// control per requirement (stage B); results of checks gone from the
// catalog are counted and skipped.
func TestStagesAndRequirementSources(t *testing.T) {
	e := newEnv(t)
	e.results["int-1"] = standardResults()
	out := e.run(t, "int-1", "scn-1")
	want := citadel.ControlsOutput{ControlsCreated: 5, SCFControls: 3, RequirementControls: 2, MappingsCreated: 6, ResultsUnknownChecks: 1}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	golden(t, "stages.golden.json", e.view(t))
	c, err := e.store.GetControl(context.Background(), citadel.AppliedControlIDForSCF("f1", "IAC-01"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != citadel.OriginScan || c.Status != citadel.ControlActive || !c.IsAutomated || c.LastScanID != "scn-1" {
		t.Errorf("SCF control = %+v; want origin scan, active, automated, last scan scn-1", c)
	}
	byReq, err := e.store.ControlsOfRequirement(context.Background(), "f1", "soc2", "cc_6_1")
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, m := range byReq {
		sources = append(sources, string(m.Source))
	}
	slices.Sort(sources)
	if d := cmp.Diff([]string{"requirement"}, sources); d != "" {
		// IAC-01 has Prowler mappings, so its SCF fallback (soc2:cc_6_1) is not used.
		t.Errorf("sources of soc2:cc_6_1 (-want +got):\n%s", d)
	}
}

func TestPostureTable(t *testing.T) {
	for _, tc := range []struct {
		pass, fail, errs, na int
		exc, muted           int // failing results excepted; muted failures without an exception
		want                 citadel.Posture
	}{
		{10, 0, 0, 0, 0, 0, citadel.PosturePassing},
		{0, 10, 0, 0, 0, 0, citadel.PostureIssues},
		{5, 5, 0, 0, 0, 0, citadel.PosturePartial},
		{0, 0, 0, 0, 0, 0, citadel.PostureNotScanned},
		{0, 0, 0, 3, 0, 0, citadel.PostureNotScanned}, // not_applicable is excluded
		{0, 0, 4, 0, 0, 0, citadel.PostureIssues},
		{3, 0, 1, 2, 0, 0, citadel.PosturePartial},
		{0, 2, 2, 0, 0, 0, citadel.PostureIssues},
		// Only excepted failures: not issues.
		{0, 0, 0, 0, 3, 0, citadel.PosturePassing},
		{4, 0, 0, 1, 2, 0, citadel.PosturePassing},
		{0, 2, 0, 0, 3, 0, citadel.PosturePartial},
		{0, 0, 1, 0, 2, 0, citadel.PosturePartial},
		// A muted failure keeps failing.
		{0, 0, 0, 0, 0, 2, citadel.PostureIssues},
		{0, 0, 0, 0, 2, 1, citadel.PosturePartial},
	} {
		t.Run(fmt.Sprintf("%d-%d-%d-%d-%d-%d", tc.pass, tc.fail, tc.errs, tc.na, tc.exc, tc.muted), func(t *testing.T) {
			e := newEnv(t)
			var rs []citadel.CheckResult
			add := func(n int, st citadel.CheckStatus, change func(*citadel.CheckResult)) {
				for i := range n {
					r := result("int-1", "trail_on", fmt.Sprintf("%s-%d-%d", st, len(rs), i), st)
					if change != nil {
						change(&r)
					}
					rs = append(rs, r)
				}
			}
			add(tc.pass, citadel.StatusPass, nil)
			add(tc.fail, citadel.StatusFail, nil)
			add(tc.errs, citadel.StatusError, nil)
			add(tc.na, citadel.StatusNotApplicable, nil)
			add(tc.exc, citadel.StatusFail, func(r *citadel.CheckResult) { r.ExceptionID, r.Muted = "exc-1", len(rs)%2 == 0 })
			add(tc.muted, citadel.StatusFail, func(r *citadel.CheckResult) { r.Muted = true })
			e.results["int-1"] = rs
			out := e.run(t, "int-1", "scn-1")
			c, err := e.store.GetControl(context.Background(), citadel.AppliedControlIDForSCF("f1", "MON-01"))
			if len(rs) == 0 {
				if !citadel.IsNotFound(err) || out.ControlsCreated != 0 {
					t.Fatalf("no results: control %v (%v), created %d; want none", c, err, out.ControlsCreated)
				}
				if got := citadel.ComputePosture(0, 0, 0, 0); got != tc.want {
					t.Errorf("posture = %s, want %s", got, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			type counts struct {
				Posture                     citadel.Posture
				Pass, Fail, Error, Excepted int
			}
			want := counts{tc.want, tc.pass, tc.fail + tc.muted, tc.errs, tc.exc}
			if d := cmp.Diff(want, counts{c.Posture, c.PassCount, c.FailCount, c.ErrorCount, c.ExceptedCount}); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestExceptedResultsChangeThePosture: the results of a control's only
// failing check excepted (as check-results marks them) turn it from issues
// to passing, with its counts apart; the same again writes nothing; the
// exceptions ending turn it back.
func TestExceptedResultsChangeThePosture(t *testing.T) {
	e := newEnv(t)
	id := citadel.AppliedControlIDForSCF("f1", "MON-01")
	results := func(exception string) []citadel.CheckResult {
		var rs []citadel.CheckResult
		for i := range 3 {
			r := result("int-1", "trail_on", fmt.Sprint("a-", i), citadel.StatusFail)
			r.ExceptionID = exception
			rs = append(rs, r)
		}
		return rs
	}
	type view struct {
		Posture        citadel.Posture
		Fail, Excepted int
		Entry          citadel.IntegrationPosture
		Updated        int
	}
	step := func(exception string) view {
		t.Helper()
		e.results["int-1"] = results(exception)
		out := e.run(t, "int-1", "scn-1")
		c, err := e.store.GetControl(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		entry := c.Integrations["int-1"]
		entry.LinksDigest = ""
		return view{c.Posture, c.FailCount, c.ExceptedCount, entry, out.ControlsUpdated}
	}
	for i, tc := range []struct {
		exception string
		want      view
	}{
		{"", view{citadel.PostureIssues, 3, 0, citadel.IntegrationPosture{Failed: 3}, 0}},
		{"exc-1", view{citadel.PosturePassing, 0, 3, citadel.IntegrationPosture{Excepted: 3}, 1}},
		{"exc-1", view{citadel.PosturePassing, 0, 3, citadel.IntegrationPosture{Excepted: 3}, 0}},
		{"", view{citadel.PostureIssues, 3, 0, citadel.IntegrationPosture{Failed: 3}, 1}},
	} {
		if d := cmp.Diff(tc.want, step(tc.exception)); d != "" {
			t.Errorf("step %d, exception %q (-want +got):\n%s", i, tc.exception, d)
		}
	}
}

// TestRerunIsIdempotent: the same input again leaves the table identical
// and counts nothing; a changed result updates exactly the controls it
// touches.
func TestRerunIsIdempotent(t *testing.T) {
	e := newEnv(t)
	e.results["int-1"] = standardResults()
	e.run(t, "int-1", "scn-1")
	before := e.dump(t)
	e.h.Clock = func() time.Time { return t0.Add(time.Hour) }
	again := e.run(t, "int-1", "scn-1")
	if d := cmp.Diff(citadel.ControlsOutput{SCFControls: 3, RequirementControls: 2, ResultsUnknownChecks: 1}, again); d != "" {
		t.Errorf("re-run output (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before, e.dump(t)); d != "" {
		t.Errorf("re-run changed the table (-before +after):\n%s", d)
	}
	next := e.run(t, "int-1", "scn-2")
	if next.ControlsCreated+next.ControlsUpdated != 0 {
		t.Errorf("a new scan with the same results: %+v; want nothing created or updated", next)
	}

	// trail-1 now fails: only MON-01 changes.
	e.results["int-1"][2].Status = citadel.StatusFail
	changed := e.run(t, "int-1", "scn-3")
	if changed.ControlsUpdated != 1 || changed.ControlsCreated != 0 || changed.MappingsCreated != 0 {
		t.Errorf("after one change: %+v; want 1 updated", changed)
	}
	c, _ := e.store.GetControl(context.Background(), citadel.AppliedControlIDForSCF("f1", "MON-01"))
	if c.Posture != citadel.PostureIssues || c.LastScanID != "scn-3" || !c.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("MON-01 = %s, last scan %s, updated %s", c.Posture, c.LastScanID, c.UpdatedAt)
	}
}

// TestManualLinksSurvive: a user's links stay, also when a scan would link
// the same asset; new assets are added beside them.
func TestManualLinksSurvive(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.results["int-1"] = standardResults()
	e.run(t, "int-1", "scn-1")
	id := citadel.AppliedControlIDForSCF("f1", "IAC-01")
	if err := e.store.PutControlLinks(ctx, []citadel.ControlLink{
		{ControlID: id, Kind: citadel.LinkAsset, TargetID: "hand-picked", Origin: citadel.OriginManual},
		{ControlID: id, Kind: citadel.LinkAsset, TargetID: "bucket-c", Origin: citadel.OriginManual},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutControlMappings(ctx, "f1", []citadel.ControlRequirementMapping{
		{ControlID: id, RequirementID: "cis_3.0:2.1.1", FrameworkID: "cis_3.0", Source: citadel.MappingManual},
	}); err != nil {
		t.Fatal(err)
	}
	e.results["int-1"] = append(e.results["int-1"], result("int-1", "s3_public", "bucket-c", citadel.StatusPass))
	e.run(t, "int-1", "scn-2")
	v := e.view(t)["SCF-IAC-01"]
	want := []string{"bucket-a (scan)", "bucket-b (scan)", "bucket-c (manual)", "hand-picked (manual)"}
	if d := cmp.Diff(want, v.Assets); d != "" {
		t.Errorf("asset links (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"cis_3.0:2.1.1 (manual)"}, v.Mappings); d != "" {
		t.Errorf("mappings (-want +got):\n%s", d)
	}
}

// TestIntegrationsAddUp: two integrations of a folder share controls; each
// scan replaces only its own integration's counts.
func TestIntegrationsAddUp(t *testing.T) {
	e := newEnv(t)
	e.results["int-1"] = []citadel.CheckResult{result("int-1", "trail_on", "t1", citadel.StatusPass)}
	e.results["int-2"] = []citadel.CheckResult{result("int-2", "trail_on", "t2", citadel.StatusFail)}
	e.run(t, "int-1", "scn-1")
	if out := e.run(t, "int-2", "scn-2"); out.ControlsUpdated != 1 || out.ControlsCreated != 0 {
		t.Errorf("second integration: %+v; want the control updated", out)
	}
	id := citadel.AppliedControlIDForSCF("f1", "MON-01")
	c, _ := e.store.GetControl(context.Background(), id)
	if c.Posture != citadel.PosturePartial || c.PassCount != 1 || c.FailCount != 1 {
		t.Errorf("summed = %s %d/%d; want partial 1/1", c.Posture, c.PassCount, c.FailCount)
	}
	// int-2's trail is gone: its share goes, int-1's stays.
	e.results["int-2"] = nil
	if out := e.run(t, "int-2", "scn-3"); out.ControlsUpdated != 1 {
		t.Errorf("integration without results: %+v; want 1 updated", out)
	}
	c, _ = e.store.GetControl(context.Background(), id)
	if c.Posture != citadel.PosturePassing || len(c.Integrations) != 1 {
		t.Errorf("after int-2 emptied: %s, integrations %v", c.Posture, c.Integrations)
	}
}

func TestEmptyScanAndBadInput(t *testing.T) {
	e := newEnv(t)
	out := e.run(t, "int-1", "scn-1")
	if d := cmp.Diff(citadel.ControlsOutput{}, out); d != "" {
		t.Errorf("empty scan (-want +got):\n%s", d)
	}
	for _, in := range []citadel.ControlsInput{{}, {Plan: citadel.PlanOutput{FolderID: "f1", ScanID: "s"}}, {Plan: citadel.PlanOutput{IntegrationID: "i", ScanID: "s"}}} {
		if _, err := e.h.Handle(context.Background(), in); !citadel.IsInvalid(err) {
			t.Errorf("input %+v: got %v, want invalid", in.Plan, err)
		}
	}
	if len(e.dump(t)) == 0 {
		t.Fatal("catalog vanished")
	}
}

// TestSampleEvents: the sample events of steps 4–6 decode into their inputs
// with a usable plan.
func TestSampleEvents(t *testing.T) {
	for _, step := range []string{"controls", "policies", "evidence"} {
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", step, "scan.json"))
		if err != nil {
			t.Fatal(err)
		}
		var plans []citadel.PlanOutput
		var c citadel.ControlsInput
		var p citadel.PoliciesInput
		var e citadel.EvidenceInput
		for _, err := range []error{json.Unmarshal(b, &c), json.Unmarshal(b, &p), json.Unmarshal(b, &e)} {
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		}
		plans = append(plans, c.Plan, p.Plan, e.Plan)
		for _, pl := range plans {
			if pl.FolderID == "" || pl.IntegrationID == "" || pl.ScanID == "" {
				t.Errorf("%s: plan %+v lacks folder, integration or scan", step, pl)
			}
		}
	}
}

// GetResult serves the evidence step in the pipeline benchmark: the whole result by id.
func (m memResults) GetResult(_ context.Context, integrationID, checkID, assetID string) (citadel.CheckResult, error) {
	for _, r := range m[integrationID] {
		if r.CheckID == checkID && r.AssetID == assetID {
			return r, nil
		}
	}
	return citadel.CheckResult{}, citadel.NotFound("result of %s on %s not found", checkID, assetID)
}
