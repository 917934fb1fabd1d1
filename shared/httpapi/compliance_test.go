package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

func TestListAssets(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	var assets []citadel.Asset
	for i := range 3 {
		assets = append(assets, citadel.Asset{IntegrationID: in.ID, Source: citadel.SourceAWS,
			SourceID: fmt.Sprintf("arn:aws:s3:::bucket-%d", i), ServiceType: "s3:bucket", Name: fmt.Sprintf("bucket-%d", i),
			Region: "us-east-1", AccountID: in.AccountID, IsActive: i != 1, FirstSeen: t0, LastSeen: t0})
	}
	if err := f.store.PutAssets(ctx, assets); err != nil {
		t.Fatal(err)
	}
	rec := f.do("GET", "/assets?integration_id="+in.ID+"&limit=2", "")
	expect(t, rec, http.StatusOK, "", "")
	first := decodeBody[citadel.Page[citadel.Asset]](t, rec)
	if len(first.Items) != 2 || first.Next == "" {
		t.Fatalf("first page: %d items, next %q", len(first.Items), first.Next)
	}
	second := decodeBody[citadel.Page[citadel.Asset]](t, f.do("GET", "/assets?integration_id="+in.ID+"&limit=2&cursor="+first.Next, ""))
	var names []string
	for _, a := range append(first.Items, second.Items...) {
		names = append(names, a.Name)
	}
	if d := cmp.Diff([]string{"bucket-0", "bucket-1", "bucket-2"}, names); d != "" || second.Next != "" {
		t.Errorf("assets (-want +got):\n%s (next %q)", d, second.Next)
	}
	for _, tc := range []struct {
		query        string
		status       int
		code, reason string
	}{
		{"", 400, "invalid", `"integration_id"`},
		{"integration_id=", 400, "invalid", `"integration_id"`},
		{"integration_id=int-nope", 404, "not_found", "int-nope"},
		{"integration_id=" + in.ID + "&cursor=abc", 400, "invalid", "cursor"},
		{"integration_id=" + in.ID + "&limit=5000", 400, "invalid", "limit"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			expect(t, f.do("GET", "/assets?"+tc.query, ""), tc.status, tc.code, tc.reason)
		})
	}
}

// seedControl stores a control with two mappings and links of each kind
// (the check link with an imported why).
func seedControl(t *testing.T, f *fixture, folder, scfID string) citadel.AppliedControl {
	t.Helper()
	ctx := context.Background()
	c, err := f.store.PutControl(ctx, citadel.AppliedControl{
		ID: citadel.AppliedControlIDForSCF(folder, scfID), FolderID: folder, RefID: scfID, Name: "Control " + scfID,
		Category: citadel.CategoryTechnical, Origin: citadel.OriginScan, Status: citadel.ControlActive, IsAutomated: true,
		SCFControlID: scfID, SecurityCheckIDs: []string{"s3_bucket_public_access"},
		Integrations: map[string]citadel.IntegrationPosture{"int-0001": {Passed: 3, Failed: 1}},
		CreatedAt:    t0, UpdatedAt: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SumIntegrations()
	if c, err = f.store.PutControl(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutControlMappings(ctx, folder, []citadel.ControlRequirementMapping{
		{ControlID: c.ID, RequirementID: "soc2:cc_6_1", FrameworkID: "soc2", Source: citadel.MappingSCF},
		{ControlID: c.ID, RequirementID: "cis_2.0_aws:2.1.1", FrameworkID: "cis_2.0_aws", Source: citadel.MappingProwler},
	}); err != nil {
		t.Fatal(err)
	}
	why := citadel.WhyOfLink(citadel.EffectiveLink{Origin: citadel.LinkImported, CheckSCFLink: citadel.CheckSCFLink{
		CheckID: "s3_bucket_public_access", SCFID: scfID, Rank: 1, Score: 1.83, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_1"}}})
	if err := f.store.PutControlLinks(ctx, []citadel.ControlLink{
		{ControlID: c.ID, Kind: citadel.LinkEvidence, TargetID: "ev-1", Origin: citadel.OriginScan},
		{ControlID: c.ID, Kind: citadel.LinkCheck, TargetID: "s3_bucket_public_access", Origin: citadel.OriginScan, Why: &why},
		{ControlID: c.ID, Kind: citadel.LinkAsset, TargetID: "asset-1", Origin: citadel.OriginManual},
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestControls(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for _, scf := range []string{"IAC-06", "CRY-05", "NET-01"} {
		ids = append(ids, seedControl(t, f, testFolder, scf).ID)
	}
	seedControl(t, f, "folder-2", "IAC-06")
	f.createFolders("folder-2")

	// Listed by ref id, a page at a time, only the folder's.
	var refs []string
	cursor := ""
	for range 4 {
		path := "/controls?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := decodeBody[citadel.Page[citadel.AppliedControl]](t, f.do("GET", path, ""))
		for _, c := range page.Items {
			refs = append(refs, c.RefID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if d := cmp.Diff([]string{"CRY-05", "IAC-06", "NET-01"}, refs); d != "" {
		t.Errorf("controls (-want +got):\n%s", d)
	}
	other := decodeBody[citadel.Page[citadel.AppliedControl]](t, f.do("GET", "/controls?folder_id=folder-2", ""))
	if len(other.Items) != 1 || other.Items[0].FolderID != "folder-2" {
		t.Errorf("folder-2 controls: %+v", other.Items)
	}

	// One control: its posture, mappings and links.
	rec := f.do("GET", "/controls/"+ids[0], "")
	expect(t, rec, http.StatusOK, "", "")
	golden(t, "control_detail", rec.Body.Bytes())
	d := decodeBody[ControlDetail](t, rec)
	if d.Control.Posture != citadel.PosturePartial || d.Control.PassCount != 3 || d.Control.FailCount != 1 {
		t.Errorf("posture %s %d/%d", d.Control.Posture, d.Control.PassCount, d.Control.FailCount)
	}
	if len(d.Mappings) != 2 || len(d.Evidence) != 1 || len(d.Checks) != 1 || len(d.Assets) != 1 {
		t.Fatalf("detail: %d mappings, %d evidence, %d checks, %d assets", len(d.Mappings), len(d.Evidence), len(d.Checks), len(d.Assets))
	}
	if w := d.Checks[0].Why; w == nil || w.Origin != citadel.LinkImported || w.Summary != "imported, rank 1: frameworks soc2; requirements soc2:cc_6_1; score 1.83" {
		t.Errorf("the check's why = %+v; want the imported link's", w)
	}
	if d.Assets[0].Why != nil || d.Evidence[0].Why != nil {
		t.Errorf("asset or evidence link with a why: %+v, %+v", d.Assets[0], d.Evidence[0])
	}

	for _, tc := range []struct {
		path         string
		status       int
		code, reason string
	}{
		{"/controls/ctl-nope", 404, "not_found", "ctl-nope"},
		{"/controls?cursor=zzz", 400, "invalid", "cursor"},
		{"/controls?limit=0", 400, "invalid", "limit"},
		{"/controls?folder_id=a%20b", 400, "invalid", "folder_id"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			expect(t, f.do("GET", tc.path, ""), tc.status, tc.code, tc.reason)
		})
	}
}

// seedEvidence stores an evidence record with two chained revisions.
func seedEvidence(t *testing.T, f *fixture, id string) citadel.Evidence {
	t.Helper()
	ctx := context.Background()
	r1 := citadel.NewRevision(id, 1, "scan-0001", []byte(`{"status":"FAIL"}`), nil, t0)
	e := citadel.Evidence{ID: id, FolderID: testFolder, SourceIntegration: "int-0001", CheckID: "s3_bucket_public_access",
		AssetID: "asset-1", Name: "bucket-1: S3 bucket is not public", Origin: citadel.OriginScan, Status: citadel.EvidenceInReview,
		IsContinuous: true, AssetName: "bucket-1", AssetType: "s3:bucket", AssetSourceID: "arn:aws:s3:::bucket-1",
		ResultStatus: citadel.StatusFail, RevisionCount: 1, LatestHash: r1.Hash, CreatedAt: t0, UpdatedAt: t0}
	if conflicts, err := f.store.WriteEvidence(ctx, []ddb.EvidenceWrite{{Evidence: e, Revision: &r1, Create: true}}); err != nil || len(conflicts) > 0 {
		t.Fatalf("write evidence: %v %v", conflicts, err)
	}
	r2 := citadel.NewRevision(id, 2, "scan-0002", []byte(`{"status":"PASS"}`), &r1, t0)
	w := ddb.EvidenceWrite{PrevRevisionCount: 1, PrevStatus: e.Status}
	e.RevisionCount, e.LatestHash, e.ResultStatus = 2, r2.Hash, citadel.StatusPass
	w.Evidence, w.Revision = e, &r2
	if conflicts, err := f.store.WriteEvidence(ctx, []ddb.EvidenceWrite{w}); err != nil || len(conflicts) > 0 {
		t.Fatalf("write evidence revision: %v %v", conflicts, err)
	}
	return e
}

func TestEvidenceAndReview(t *testing.T) {
	f := newFixture(t)
	e := seedEvidence(t, f, "ev-1")

	rec := f.do("GET", "/evidence/ev-1", "")
	expect(t, rec, http.StatusOK, "", "")
	golden(t, "evidence_detail", rec.Body.Bytes())
	d := decodeBody[EvidenceDetail](t, rec)
	if len(d.Revisions) != 2 || d.Revisions[0].Number != 2 || d.ChainBreak != nil || d.Evidence.LatestHash != e.LatestHash {
		t.Errorf("evidence detail: %d revisions, first %d, break %v", len(d.Revisions), d.Revisions[0].Number, d.ChainBreak)
	}

	for _, tc := range []struct {
		name, id, body string
		status         int
		code, reason   string
	}{
		{"unknown evidence", "ev-nope", `{"decision":"approve","comment":"ok"}`, 404, "not_found", "ev-nope"},
		{"bad decision", "ev-1", `{"decision":"maybe","comment":"hmm"}`, 400, "invalid", `"decision"`},
		{"no comment", "ev-1", `{"decision":"reject"}`, 400, "invalid", `"comment"`},
		{"empty comment", "ev-1", `{"decision":"reject","comment":""}`, 400, "invalid", `"comment"`},
		{"unknown field", "ev-1", `{"decision":"approve","comment":"ok","by":"me"}`, 400, "invalid", `"by"`},
		{"malformed", "ev-1", `{"decision":`, 400, "invalid", "request body"},
		{"no body", "ev-1", ``, 400, "invalid", "a JSON body is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do("POST", "/evidence/"+tc.id+"/review", tc.body), tc.status, tc.code, tc.reason)
		})
	}
	expect(t, f.do("GET", "/evidence/ev-nope", ""), http.StatusNotFound, "not_found", "ev-nope")

	rec = f.do("POST", "/evidence/ev-1/review", `{"decision":"reject","comment":"bucket policy still public"}`)
	expect(t, rec, http.StatusOK, "", "")
	got := decodeBody[citadel.Evidence](t, rec)
	if got.Status != citadel.EvidenceRejected || got.ReviewComment != "bucket policy still public" || got.ReviewedAt.IsZero() {
		t.Errorf("rejected: %+v", got)
	}
	rec = f.do("POST", "/evidence/ev-1/review", `{"decision":"approve","comment":"fixed"}`)
	expect(t, rec, http.StatusOK, "", "")
	stored, err := f.store.GetEvidence(context.Background(), "ev-1")
	if err != nil || stored.Status != citadel.EvidenceApproved || stored.ReviewComment != "fixed" {
		t.Errorf("stored after approval: %+v %v", stored, err)
	}

	// Expired evidence cannot be reviewed: a conflict with the state, not a bad request.
	r1 := citadel.NewRevision("ev-2", 1, "scan-0001", []byte(`{}`), nil, t0)
	expired := e
	expired.ID, expired.Status, expired.RevisionCount, expired.LatestHash = "ev-2", citadel.EvidenceExpired, 1, r1.Hash
	if c, err := f.store.WriteEvidence(context.Background(), []ddb.EvidenceWrite{{Evidence: expired, Revision: &r1, Create: true}}); err != nil || len(c) > 0 {
		t.Fatalf("write expired evidence: %v %v", c, err)
	}
	expect(t, f.do("POST", "/evidence/ev-2/review", `{"decision":"approve","comment":"late"}`), http.StatusConflict, "conflict", "expired")
}

func TestListFrameworksPaginates(t *testing.T) {
	f := newFixture(t)
	fws := []citadel.Framework{
		{ID: "soc2", Name: "SOC 2", Source: "prowler", RequirementCount: 60},
		{ID: "cis_2.0_aws", Name: "CIS 2.0", Source: "prowler", RequirementCount: 50},
		{ID: "iso27001_2022", Name: "ISO 27001", Source: "prowler", RequirementCount: 93},
	}
	if err := f.store.PutFrameworks(context.Background(), fws); err != nil {
		t.Fatal(err)
	}
	var ids []string
	cursor := ""
	for range 4 {
		path := "/frameworks?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		rec := f.do("GET", path, "")
		expect(t, rec, http.StatusOK, "", "")
		page := decodeBody[citadel.Page[citadel.Framework]](t, rec)
		for _, fw := range page.Items {
			ids = append(ids, fw.ID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if d := cmp.Diff([]string{"cis_2.0_aws", "iso27001_2022", "soc2"}, ids); d != "" {
		t.Errorf("frameworks (-want +got):\n%s", d)
	}
	all := decodeBody[citadel.Page[citadel.Framework]](t, f.do("GET", "/frameworks", ""))
	if len(all.Items) != 3 || all.Next != "" {
		t.Errorf("one page of all: %d, next %q", len(all.Items), all.Next)
	}
	expect(t, f.do("GET", "/frameworks?cursor=%25%25", ""), http.StatusBadRequest, "invalid", "cursor")
	expect(t, f.do("GET", "/frameworks?limit=two", ""), http.StatusBadRequest, "invalid", "limit")
}

func TestPutAssessment(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Name: "CC6.1", Assessable: true, Weight: 1},
	}); err != nil {
		t.Fatal(err)
	}
	ctl := seedControl(t, f, testFolder, "IAC-06")
	otherFolder := seedControl(t, f, "folder-2", "IAC-06")
	id := citadel.RequirementAssessmentID(testFolder, "soc2:cc_6_1")

	body := fmt.Sprintf(`{"requirement_id":"soc2:cc_6_1","result":"partially_compliant","answers":{"q1":"yes"},"applied_controls":[%q]}`, ctl.ID)
	rec := f.do("PUT", "/requirement-assessments/"+id, body)
	expect(t, rec, http.StatusOK, "", "")
	got := decodeBody[citadel.RequirementAssessment](t, rec)
	want := citadel.RequirementAssessment{ID: id, FolderID: testFolder, FrameworkID: "soc2", RequirementID: "soc2:cc_6_1",
		AppliedControlIDs: []string{ctl.ID}, Answers: map[string]string{"q1": "yes"}, Result: citadel.ResultPartiallyCompliant, UpdatedAt: t0}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("assessment (-want +got):\n%s", d)
	}
	stored, err := f.store.GetAssessment(ctx, id)
	if d := cmp.Diff(want, stored); d != "" || err != nil {
		t.Errorf("stored assessment (-want +got):\n%s %v", d, err)
	}
	// Replaced by a second PUT.
	expect(t, f.do("PUT", "/requirement-assessments/"+id, `{"requirement_id":"soc2:cc_6_1","result":"compliant"}`), http.StatusOK, "", "")
	if stored, _ := f.store.GetAssessment(ctx, id); stored.Result != citadel.ResultCompliant || len(stored.AppliedControlIDs) != 0 {
		t.Errorf("replaced assessment: %+v", stored)
	}

	for _, tc := range []struct {
		name, id, body string
		status         int
		code, reason   string
	}{
		{"id of another requirement", citadel.RequirementAssessmentID(testFolder, "soc2:cc_1_3"), `{"requirement_id":"soc2:cc_6_1","result":"compliant"}`, 400, "invalid", "does not match"},
		{"unknown requirement", citadel.RequirementAssessmentID(testFolder, "soc2:cc_9_9"), `{"requirement_id":"soc2:cc_9_9","result":"compliant"}`, 400, "invalid", "no such requirement"},
		{"bad requirement id", id, `{"requirement_id":"cc_6_1","result":"compliant"}`, 400, "invalid", `"requirement_id"`},
		{"bad result", id, `{"requirement_id":"soc2:cc_6_1","result":"great"}`, 400, "invalid", `"result"`},
		{"missing result", id, `{"requirement_id":"soc2:cc_6_1"}`, 400, "invalid", `"result"`},
		{"framework mismatch", id, `{"requirement_id":"soc2:cc_6_1","framework_id":"iso","result":"compliant"}`, 400, "invalid", "framework_id"},
		{"unknown control", id, `{"requirement_id":"soc2:cc_6_1","result":"compliant","applied_controls":["ctl-nope"]}`, 400, "invalid", "ctl-nope not found"},
		{"control of another folder", id, fmt.Sprintf(`{"requirement_id":"soc2:cc_6_1","result":"compliant","applied_controls":[%q]}`, otherFolder.ID), 400, "invalid", "folder-2"},
		{"unknown field", id, `{"requirement_id":"soc2:cc_6_1","result":"compliant","score":3}`, 400, "invalid", `"score"`},
		{"malformed", id, `{"requirement_id"`, 400, "invalid", "request body"},
		{"bad id", "ra:1", `{"requirement_id":"soc2:cc_6_1","result":"compliant"}`, 400, "invalid", `"id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do("PUT", "/requirement-assessments/"+tc.id, tc.body), tc.status, tc.code, tc.reason)
		})
	}
	if stored, _ := f.store.GetAssessment(ctx, id); stored.Result != citadel.ResultCompliant {
		t.Errorf("a refused PUT changed the assessment: %+v", stored)
	}
}

// TestEveryOperationIsRouted keeps the document and the mux one for one
// (New refuses a mismatch; this names what each side has).
func TestEveryOperationIsRouted(t *testing.T) {
	f := newFixture(t)
	var ops []string
	for _, op := range Operations(f.doc) {
		ops = append(ops, op)
	}
	var routes []string
	for pattern := range f.srv.routes() {
		routes = append(routes, pattern)
	}
	sortStrings := cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j] < out[i] {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
	if d := cmp.Diff(ops, routes, sortStrings); d != "" {
		t.Errorf("openapi.yaml operations vs routes (-doc +routes):\n%s", d)
	}
	// Every operation declares its errors' body.
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		route, _ := Operation(f.doc, method, path)
		if route.Operation.Responses.Default() == nil {
			t.Errorf("%s declares no default (error) response", op)
		}
	}
	b, _ := json.Marshal(f.doc.Info)
	if !strings.Contains(string(b), "Citadel") {
		t.Errorf("info: %s", b)
	}
}

func TestFrameworkCoverage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.PutFrameworks(ctx, []citadel.Framework{{ID: "soc2", Name: "SOC 2", Source: "prowler", RequirementCount: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Name: "CC6.1", Assessable: true, Weight: 1},
		{ID: "soc2:cc_1_3", FrameworkID: "soc2", RefID: "cc_1_3", Name: "CC1.3", Assessable: true, Weight: 1},
	}); err != nil {
		t.Fatal(err)
	}
	ctl := seedControl(t, f, testFolder, "IAC-06") // mapped to soc2:cc_6_1 by SCF
	// A manual assignment and answers on the other requirement.
	body := fmt.Sprintf(`{"requirement_id":"soc2:cc_1_3","result":"compliant","answers":{"q1":"yes","q2":"no"},"applied_controls":[%q]}`, ctl.ID)
	expect(t, f.do("PUT", "/requirement-assessments/"+citadel.RequirementAssessmentID(testFolder, "soc2:cc_1_3"), body), http.StatusOK, "", "")

	rec := f.do("GET", "/frameworks/soc2/coverage", "")
	expect(t, rec, http.StatusOK, "", "")
	golden(t, "framework_coverage", rec.Body.Bytes())

	// Another folder sees the framework with nothing in it.
	f.createFolders("folder-2")
	empty := f.do("GET", "/frameworks/soc2/coverage?folder_id=folder-2", "")
	expect(t, empty, http.StatusOK, "", "")
	if !strings.Contains(empty.Body.String(), `"with_controls":0`) {
		t.Errorf("empty folder: %s", empty.Body.String())
	}
	expect(t, f.do("GET", "/frameworks/nope/coverage", ""), http.StatusNotFound, "not_found", "nope")
	expect(t, f.do("GET", "/frameworks/soc2/coverage?folder_id=a%2Fb", ""), http.StatusBadRequest, "invalid", "folder_id")
	expect(t, f.do("GET", "/frameworks/SOC%202/coverage", ""), http.StatusBadRequest, "invalid", `"id"`)
}
