package evidence_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/evidence"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// memResults serves results like the store: heads without their bulk, a
// page at a time, and whole results by (integration, check, asset).
type memResults map[string][]citadel.CheckResult

func (m memResults) ListResultHeads(_ context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error) {
	all := m[integrationID]
	start := 0
	if cursor != "" {
		fmt.Sscan(cursor, &start)
	}
	end := min(start+limit, len(all))
	p := citadel.Page[citadel.CheckResult]{}
	for _, r := range all[start:end] {
		r.RawOutput, r.ResourceSnapshot = nil, nil
		p.Items = append(p.Items, r)
	}
	if end < len(all) {
		p.Next = fmt.Sprint(end)
	}
	return p, nil
}

func (m memResults) GetResult(_ context.Context, integrationID, checkID, assetID string) (citadel.CheckResult, error) {
	for _, r := range m[integrationID] {
		if r.CheckID == checkID && r.AssetID == assetID {
			return r, nil
		}
	}
	return citadel.CheckResult{}, citadel.NotFound("result of %s on %s not found", checkID, assetID)
}

const (
	arnA = "arn:aws:s3:::bucket-a"
	arnB = "arn:aws:s3:::bucket-b"
	arnU = "arn:aws:iam::123456789012:user/alice" // never synced as an asset
)

func result(check, arn string, st citadel.CheckStatus, raw string) citadel.CheckResult {
	return citadel.CheckResult{IntegrationID: "int-1", CheckID: check, AssetID: citadel.AssetID("int-1", citadel.SourceAWS, arn), AssetARN: arn,
		ScanID: "scn-1", Status: st, RawOutput: []byte(raw), ContentHash: citadel.ContentSHA256([]byte(string(st) + raw)), ScannedAt: t0}
}

type env struct {
	store   *ddb.Store
	client  *dynamodb.Client
	table   string
	results memResults
	h       *evidence.Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, table := testenv.Table(t, cfg)
	s := ddb.NewFromClient(client, table)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutChecks(ctx, []citadel.SecurityCheck{
		{ID: "s3_public", Title: "S3 bucket is not public", Service: "s3", Severity: citadel.SeverityHigh},
		{ID: "iam_rotate", Title: "Access keys are rotated", Service: "iam", Severity: citadel.SeverityLow},
	}))
	must(s.PutAssets(ctx, []citadel.Asset{
		{IntegrationID: "int-1", Source: citadel.SourceAWS, SourceID: arnA, ServiceType: "s3_bucket", Name: "bucket-a", Region: "us-east-1", AccountID: "123456789012", IsActive: true, FirstSeen: t0, LastSeen: t0},
		{IntegrationID: "int-1", Source: citadel.SourceAWS, SourceID: arnB, ServiceType: "s3_bucket", Name: "bucket-b", Region: "us-east-1", AccountID: "123456789012", IsActive: true, FirstSeen: t0, LastSeen: t0},
	}))
	ctl := func(scf string, checks ...string) citadel.AppliedControl {
		return citadel.AppliedControl{ID: citadel.AppliedControlIDForSCF("f1", scf), FolderID: "f1", RefID: "SCF-" + scf, Name: "SCF-" + scf,
			Category: citadel.CategoryTechnical, Origin: citadel.OriginScan, Status: citadel.ControlActive, SCFControlID: scf, SecurityCheckIDs: checks}
	}
	_, err := s.PutControls(ctx, []citadel.AppliedControl{ctl("IAC-01", "s3_public"), ctl("DCH-01", "s3_public"), ctl("IAC-10", "iam_rotate")})
	must(err)
	e := &env{store: s, client: client, table: table, results: memResults{}}
	e.h = &evidence.Handler{Store: s, Catalog: s, Results: e.results, Assets: s, PageSize: 2, Env: stepfn.Env{Clock: func() time.Time { return t0 }}}
	e.results["int-1"] = []citadel.CheckResult{
		result("s3_public", arnA, citadel.StatusPass, `{"status_code":"PASS","n":1}`),
		result("s3_public", arnB, citadel.StatusFail, `{"status_code":"FAIL","n":2}`),
		result("iam_rotate", arnU, citadel.StatusFail, `{"status_code":"FAIL","n":3}`),
		result("gone_from_catalog", arnA, citadel.StatusFail, `{}`),
	}
	return e
}

func (e *env) run(t *testing.T, scan string) citadel.EvidenceOutput {
	t.Helper()
	out, err := e.h.Handle(context.Background(), citadel.EvidenceInput{Plan: citadel.PlanOutput{FolderID: "f1", IntegrationID: "int-1", ScanID: scan}})
	if err != nil {
		t.Fatal(err)
	}
	out.Usage = citadel.Usage{}
	return out
}

func (e *env) dump(t *testing.T) []map[string]any {
	t.Helper()
	var items []map[string]any
	if err := dynamo.NewFromIface(e.client).Table(e.table).Scan().All(context.Background(), &items); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(items, func(a, b map[string]any) int {
		x, y := fmt.Sprint(a["PK"], "|", a["SK"]), fmt.Sprint(b["PK"], "|", b["SK"])
		if x < y {
			return -1
		}
		if x > y {
			return 1
		}
		return 0
	})
	return items
}

func evID(check, arn string) string {
	return citadel.EvidenceID("int-1", check, citadel.AssetID("int-1", citadel.SourceAWS, arn))
}

func TestEvidencePerResultLinkedBothWays(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	out := e.run(t, "scn-1")
	if d := cmp.Diff(citadel.EvidenceOutput{EvidenceCreated: 3, LinksCreated: 5, ResultsUnknownChecks: 1}, out); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	id := evID("s3_public", arnB)
	got, err := e.store.GetEvidence(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r1 := citadel.NewRevision(id, 1, "scn-1", []byte(`{"status_code":"FAIL","n":2}`), nil, t0)
	ctlA, ctlD := citadel.AppliedControlIDForSCF("f1", "IAC-01"), citadel.AppliedControlIDForSCF("f1", "DCH-01")
	want := citadel.Evidence{
		ID: id, FolderID: "f1", SourceIntegration: "int-1", CheckID: "s3_public", AssetID: citadel.AssetID("int-1", "aws", arnB),
		Name: "bucket-b: S3 bucket is not public", Origin: citadel.OriginScan, Status: citadel.EvidenceInReview, IsContinuous: true,
		AssetName: "bucket-b", AssetType: "s3_bucket", AssetSourceID: arnB, ResultStatus: citadel.StatusFail,
		RevisionCount: 1, LatestHash: r1.Hash, CreatedAt: t0, UpdatedAt: t0,
		ResultContentHash: e.results["int-1"][1].ContentHash, ControlIDs: sorted(ctlA, ctlD),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("evidence (-want +got):\n%s", d)
	}
	// A result whose asset was never synced still gets a readable record.
	u, err := e.store.GetEvidence(ctx, evID("iam_rotate", arnU))
	if err != nil || u.Name != "alice: Access keys are rotated" || u.AssetSourceID != arnU {
		t.Errorf("unsynced asset: %q %q, %v", u.Name, u.AssetSourceID, err)
	}
	// Both ways: control → evidence and evidence → controls.
	links, err := e.store.LinksOfControl(ctx, ctlA, citadel.LinkEvidence)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, l := range links {
		targets = append(targets, l.TargetID)
	}
	if d := cmp.Diff(sorted(evID("s3_public", arnA), id), targets); d != "" {
		t.Errorf("evidence of IAC-01 (-want +got):\n%s", d)
	}
	back, err := e.store.ControlsLinkedTo(ctx, citadel.LinkEvidence, id)
	if err != nil {
		t.Fatal(err)
	}
	var ctls []string
	for _, l := range back {
		ctls = append(ctls, l.ControlID)
	}
	slices.Sort(ctls)
	if d := cmp.Diff(sorted(ctlA, ctlD), ctls); d != "" {
		t.Errorf("controls of the evidence (-want +got):\n%s", d)
	}
	pending, err := e.store.ListEvidence(ctx, "f1", citadel.EvidenceInReview, 10, "")
	if err != nil || len(pending.Items) != 3 {
		t.Errorf("awaiting review = %d, %v; want 3", len(pending.Items), err)
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

// TestChainReReviewAndIdempotence: the same input changes nothing; new
// content adds a chained revision and puts an approved record back in review.
func TestChainReReviewAndIdempotence(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.run(t, "scn-1")
	before := e.dump(t)
	e.h.Clock = func() time.Time { return t0.Add(time.Hour) }
	if d := cmp.Diff(citadel.EvidenceOutput{ResultsUnknownChecks: 1}, e.run(t, "scn-1")); d != "" {
		t.Errorf("re-run (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before, e.dump(t)); d != "" {
		t.Errorf("re-run changed the table (-before +after):\n%s", d)
	}
	id := evID("s3_public", arnB)
	if _, err := e.store.ReviewEvidence(ctx, id, citadel.EvidenceReview{By: "auditor", Decision: citadel.ReviewApprove, Comment: "ok"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ReviewEvidence(ctx, evID("s3_public", arnA), citadel.EvidenceReview{By: "auditor", Decision: citadel.ReviewReject, Comment: "wrong bucket"}); err != nil {
		t.Fatal(err)
	}
	// bucket-b is fixed: new content for one result.
	e.results["int-1"][1] = result("s3_public", arnB, citadel.StatusPass, `{"status_code":"PASS","n":2}`)
	if d := cmp.Diff(citadel.EvidenceOutput{EvidenceUpdated: 1, ResultsUnknownChecks: 1}, e.run(t, "scn-2")); d != "" {
		t.Errorf("after a change (-want +got):\n%s", d)
	}
	got, _ := e.store.GetEvidence(ctx, id)
	if got.Status != citadel.EvidenceInReview || got.RevisionCount != 2 || got.ResultStatus != citadel.StatusPass {
		t.Errorf("changed evidence: %s rev %d result %s; want in_review rev 2 pass", got.Status, got.RevisionCount, got.ResultStatus)
	}
	rejected, _ := e.store.GetEvidence(ctx, evID("s3_public", arnA))
	if rejected.Status != citadel.EvidenceRejected {
		t.Errorf("unchanged evidence is %s; its review must stay (rejected)", rejected.Status)
	}
	revs, err := e.store.EvidenceRevisions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].Number != 2 || revs[0].PrevHash != revs[1].Hash || revs[0].ScanID != "scn-2" || string(revs[0].RawOutput) != `{"status_code":"PASS","n":2}` {
		t.Errorf("revisions newest first = %+v", revs)
	}
	if b, err := e.store.VerifyEvidence(ctx, id); err != nil || b != nil {
		t.Errorf("verify: %v, %v", b, err)
	}
	again, err := e.store.ReviewEvidence(ctx, id, citadel.EvidenceReview{By: "auditor", Decision: citadel.ReviewApprove, Comment: "fixed"})
	if err != nil || again.Status != citadel.EvidenceApproved {
		t.Errorf("re-review: %s, %v", again.Status, err)
	}
}

// TestOrphanProtection: the record keeps the asset's name, type and ARN
// after the asset is deleted, and a later scan does not lose them.
func TestOrphanProtection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.run(t, "scn-1")
	_, err := e.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(e.table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "INTEG#int-1"}, "SK": &types.AttributeValueMemberS{Value: "ASSET#" + arnA},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.results["int-1"][0] = result("s3_public", arnA, citadel.StatusFail, `{"status_code":"FAIL","n":1}`)
	e.run(t, "scn-2")
	got, err := e.store.GetEvidence(ctx, evID("s3_public", arnA))
	if err != nil {
		t.Fatal(err)
	}
	if got.AssetName != "bucket-a" || got.AssetType != "s3_bucket" || got.AssetSourceID != arnA || got.Name != "bucket-a: S3 bucket is not public" || got.RevisionCount != 2 {
		t.Errorf("orphaned evidence = %+v", got)
	}
}

// TestNewControlLinksWithoutRevision: a control that gains the check later
// is linked to the existing records, without a new revision.
func TestNewControlLinksWithoutRevision(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.run(t, "scn-1")
	c := citadel.AppliedControl{ID: "ctl-manual", FolderID: "f1", RefID: "MY-1", Name: "My control", Category: citadel.CategoryProcess,
		Origin: citadel.OriginManual, Status: citadel.ControlActive, SecurityCheckIDs: []string{"iam_rotate"}}
	if _, err := e.store.PutControl(ctx, c); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(citadel.EvidenceOutput{LinksCreated: 1, ResultsUnknownChecks: 1}, e.run(t, "scn-2")); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	got, _ := e.store.GetEvidence(ctx, evID("iam_rotate", arnU))
	if got.RevisionCount != 1 || !slices.Contains(got.ControlIDs, "ctl-manual") {
		t.Errorf("evidence = rev %d controls %v", got.RevisionCount, got.ControlIDs)
	}
}

// A control that no longer lists a check (a user removed the check → SCF
// link, or a re-import ranked it away, and the controls step followed) is
// dropped from the check's evidence at the next scan, with its link item;
// the record keeps its revisions.
func TestControlsThatNoLongerFollowTheCheckAreUnlinked(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.run(t, "scn-1")
	dch := citadel.AppliedControlIDForSCF("f1", "DCH-01")
	c, err := e.store.GetControl(ctx, dch)
	if err != nil {
		t.Fatal(err)
	}
	c.SecurityCheckIDs = nil
	if _, err := e.store.PutControl(ctx, c); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(citadel.EvidenceOutput{ResultsUnknownChecks: 1}, e.run(t, "scn-2")); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	for _, arn := range []string{arnA, arnB} {
		got, err := e.store.GetEvidence(ctx, evID("s3_public", arn))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{citadel.AppliedControlIDForSCF("f1", "IAC-01")}, got.ControlIDs); d != "" || got.RevisionCount != 1 {
			t.Errorf("%s: rev %d, controls (-want +got):\n%s", arn, got.RevisionCount, d)
		}
	}
	links, err := e.store.LinksOfControl(ctx, dch, citadel.LinkEvidence)
	if err != nil || len(links) != 0 {
		t.Errorf("evidence links of %s after the check left it: %v, %v", dch, links, err)
	}
	// Nothing more to do the scan after.
	if d := cmp.Diff(citadel.EvidenceOutput{ResultsUnknownChecks: 1}, e.run(t, "scn-3")); d != "" {
		t.Errorf("third run (-want +got):\n%s", d)
	}
}

func TestEmptyAndBadInput(t *testing.T) {
	e := newEnv(t)
	e.results["int-1"] = nil
	if d := cmp.Diff(citadel.EvidenceOutput{}, e.run(t, "scn-1"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("no results (-want +got):\n%s", d)
	}
	if _, err := e.h.Handle(context.Background(), citadel.EvidenceInput{Plan: citadel.PlanOutput{FolderID: "f1"}}); !citadel.IsInvalid(err) {
		t.Errorf("plan without integration: got %v, want invalid", err)
	}
}
