package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/digest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// seedFindings stores, for an integration, the catalog's checks, a
// requirement mapped to two of them and one mapped to none, 4 assets (the
// first two linked) and the current results of 3 checks on each asset
// (s3_bucket_public's failure on bucket-2 excepted), with the latest scan's
// digest.
func seedFindings(t *testing.T, f *fixture, integ citadel.Integration) []citadel.Asset {
	t.Helper()
	ctx := context.Background()
	checks := []string{"ec2_instance_public", "s3_bucket_public", "s3_bucket_versioning"}
	var cat []citadel.SecurityCheck
	for _, c := range checks {
		svc, _, _ := strings.Cut(c, "_")
		cat = append(cat, citadel.SecurityCheck{ID: c, Title: c, Service: svc, Severity: citadel.SeverityHigh})
	}
	if err := f.store.PutChecks(ctx, cat); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Assessable: true, Weight: 1, Checks: []string{"s3_bucket_public", "ec2_instance_public"}},
		{ID: "soc2:cc_9_9", FrameworkID: "soc2", RefID: "cc_9_9", Assessable: true, Weight: 1},
	}); err != nil {
		t.Fatal(err)
	}
	var assets []citadel.Asset
	var ws []ddb.ResultWrite
	var entries []digest.Entry
	for i := range 4 {
		a := citadel.Asset{IntegrationID: integ.ID, Source: citadel.SourceAWS, SourceID: fmt.Sprintf("arn:aws:s3:::bucket-%d/with/slashes", i),
			ServiceType: "s3:bucket", Name: fmt.Sprintf("bucket-%d", i), Region: []string{"us-east-1", "eu-west-1"}[i%2],
			AccountID: integ.AccountID, IsActive: true, FirstSeen: t0, LastSeen: t0}
		a.ID = citadel.AssetID(a.IntegrationID, a.Source, a.SourceID)
		assets = append(assets, a)
		for c, check := range checks {
			st := []citadel.CheckStatus{citadel.StatusPass, citadel.StatusFail}[(i+c)%2]
			r := citadel.CheckResult{IntegrationID: integ.ID, CheckID: check, AssetID: a.ID, AssetARN: a.SourceID,
				ScanID: "scan-0001", FirstScanID: "scan-0001", Status: st, Severity: []citadel.Severity{citadel.SeverityHigh, citadel.SeverityLow}[i/2],
				Region: a.Region, RawOutput: []byte(`{"raw":true}`), ContentHash: "00", ScannedAt: t0}
			if i == 2 && check == "s3_bucket_public" {
				r.ExceptionID = "exc-accepted"
			}
			ws = append(ws, ddb.ResultWrite{Result: r})
		}
	}
	if err := f.store.PutAssets(ctx, assets); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutResults(ctx, ws); err != nil {
		t.Fatal(err)
	}
	for c := range checks {
		for _, a := range assets {
			e := digest.Entry{Check: uint16(c)}
			e.Asset, _ = digest.ParseAsset(a.ID)
			entries = append(entries, e)
		}
	}
	// Entries sorted by (check, asset).
	for i := range entries {
		for j := i + 1; j < len(entries); j++ {
			if entries[j].Check == entries[i].Check && entries[j].Asset.String() < entries[i].Asset.String() {
				entries[i], entries[j] = entries[j], entries[i]
			}
		}
	}
	if err := f.store.PutScanDigest(ctx, ddb.ScanDigest{IntegrationID: integ.ID, ScanID: "scan-0001", Checks: checks, CreatedAt: t0}, entries); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutRelationships(ctx, []citadel.AssetRelationship{
		{IntegrationID: integ.ID, FromARN: assets[0].SourceID, ToARN: assets[1].SourceID, Kind: citadel.RelEncryptedBy},
		{IntegrationID: integ.ID, FromARN: assets[2].SourceID, ToARN: assets[0].SourceID, Kind: citadel.RelTrailBucket},
	}); err != nil {
		t.Fatal(err)
	}
	return assets
}

// findings walks GET /results?<query> with a page size, returning
// "<check> <asset name>" of every result.
func (f *fixture) findings(t *testing.T, query string, limit int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for range 100 {
		path := fmt.Sprintf("/results?%s&limit=%d", query, limit)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		rec := f.do("GET", path, "")
		expect(t, rec, http.StatusOK, "", "")
		page := decodeBody[citadel.Page[Finding]](t, rec)
		if len(page.Items) > limit {
			t.Fatalf("%s: %d items, over the limit", path, len(page.Items))
		}
		for _, it := range page.Items {
			if it.RawOutput != nil || it.AssetRef != citadel.AssetRef(it.IntegrationID, it.AssetARN) {
				t.Errorf("%s: item %+v: raw output listed or asset_ref wrong", path, it)
			}
			name := strings.TrimSuffix(strings.TrimPrefix(it.AssetARN, "arn:aws:s3:::"), "/with/slashes")
			out = append(out, it.CheckID+" "+name)
		}
		if cursor = page.Next; cursor == "" {
			return out
		}
	}
	t.Fatalf("%s: no last page", query)
	return nil
}

func TestListResults(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	in := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	other := f.createIntegration(`{"name":"dev","account_id":"210987654321","frameworks":["cis_2.0"]}`)
	seedFindings(t, f, in)
	q := "integration_id=" + in.ID
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"ec2_instance_public bucket-0", "ec2_instance_public bucket-1", "ec2_instance_public bucket-2", "ec2_instance_public bucket-3",
			"s3_bucket_public bucket-0", "s3_bucket_public bucket-1", "s3_bucket_public bucket-2", "s3_bucket_public bucket-3",
			"s3_bucket_versioning bucket-0", "s3_bucket_versioning bucket-1", "s3_bucket_versioning bucket-2", "s3_bucket_versioning bucket-3"}},
		{"&check_id=s3_bucket_public&status=fail", []string{"s3_bucket_public bucket-0"}},
		{"&check_id=s3_bucket_public&status=excepted", []string{"s3_bucket_public bucket-2"}},
		{"&status=excepted", []string{"s3_bucket_public bucket-2"}},
		{"&service=s3&severity=low&region=eu-west-1", []string{"s3_bucket_public bucket-3", "s3_bucket_versioning bucket-3"}},
		{"&service=ec2&status=pass", []string{"ec2_instance_public bucket-0", "ec2_instance_public bucket-2"}},
		{"&requirement_id=soc2:cc_6_1&status=fail", []string{"ec2_instance_public bucket-1", "ec2_instance_public bucket-3", "s3_bucket_public bucket-0"}},
		{"&requirement_id=soc2:cc_6_1&service=s3&severity=high", []string{"s3_bucket_public bucket-0", "s3_bucket_public bucket-1"}},
		{"&requirement_id=soc2:cc_9_9", nil},
		{"&service=iam", nil},
		{"&status=error", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			for _, limit := range []int{1, 3, 100} {
				got := f.findings(t, q+tc.query, limit)
				if d := cmp.Diff(len(tc.want), len(got)); d != "" {
					t.Fatalf("limit %d: %v (-want +got count):\n%s", limit, got, d)
				}
				if d := cmp.Diff(setOf(tc.want), setOf(got)); d != "" {
					t.Errorf("limit %d (-want +got):\n%s", limit, d)
				}
			}
		})
	}
	// A result shows its effective status, Prowler's and its exception.
	shown := func(query string) []map[string]any {
		t.Helper()
		rec := f.do("GET", "/results?"+q+query, "")
		expect(t, rec, http.StatusOK, "", "")
		var out []map[string]any
		for _, it := range decodeBody[citadel.Page[map[string]any]](t, rec).Items {
			out = append(out, map[string]any{"status": it["status"], "prowler_status": it["prowler_status"], "exception_id": it["exception_id"]})
		}
		return out
	}
	if d := cmp.Diff([]map[string]any{{"status": "excepted", "prowler_status": "fail", "exception_id": "exc-accepted"}}, shown("&status=excepted")); d != "" {
		t.Errorf("an excepted result (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]map[string]any{{"status": "fail", "prowler_status": "fail", "exception_id": nil}}, shown("&check_id=s3_bucket_public&status=fail")); d != "" {
		t.Errorf("a failing result (-want +got):\n%s", d)
	}
	if got := decodeBody[citadel.Page[Finding]](t, f.do("GET", "/results?"+q+"&status=excepted", "")).Items; len(got) != 1 ||
		got[0].Status != citadel.StatusExcepted || got[0].ProwlerStatus != citadel.StatusFail || got[0].ExceptionID != "exc-accepted" {
		t.Errorf("decoded into Finding: %+v", got)
	}
	first := decodeBody[citadel.Page[Finding]](t, f.do("GET", "/results?"+q+"&status=fail&limit=1", ""))
	if first.Next == "" {
		t.Fatal("no second page")
	}
	for _, tc := range []struct {
		name, query  string
		status       int
		code, reason string
	}{
		{"no integration", "status=fail", 400, "invalid", `"integration_id"`},
		{"unknown integration", "integration_id=int-nope", 404, "not_found", "int-nope"},
		{"bad status", q + "&status=broken", 400, "invalid", `"status"`},
		{"bad severity", q + "&severity=urgent", 400, "invalid", `"severity"`},
		{"bad region", q + "&region=mars", 400, "invalid", `"region"`},
		{"bad service", q + "&service=S3!", 400, "invalid", `"service"`},
		{"bad check id", q + "&check_id=a%20b", 400, "invalid", `"check_id"`},
		{"unknown check", q + "&check_id=s3_nope", 400, "invalid", "check_id"},
		{"bad requirement id", q + "&requirement_id=nocolon", 400, "invalid", `"requirement_id"`},
		{"unknown requirement", q + "&requirement_id=soc2:nope", 400, "invalid", "requirement_id"},
		{"bad limit", q + "&limit=0", 400, "invalid", "limit"},
		{"forged cursor", q + "&cursor=" + b64(`{"a":"b"}`), 400, "invalid", ddb.BadCursor},
		{"cursor of other filters", q + "&status=pass&limit=1&cursor=" + first.Next, 400, "invalid", ddb.BadCursor},
		{"cursor of another integration", "integration_id=" + other.ID + "&status=fail&limit=1&cursor=" + first.Next, 400, "invalid", ddb.BadCursor},
		{"its own cursor", q + "&status=fail&limit=1&cursor=" + first.Next, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do("GET", "/results?"+tc.query, ""), tc.status, tc.code, tc.reason)
		})
	}
}

func setOf(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}

func TestGetAsset(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	in := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	assets := seedFindings(t, f, in)
	a := assets[0]
	ref := citadel.AssetRef(in.ID, a.SourceID)
	if strings.ContainsAny(ref, "/:%") {
		t.Fatalf("ref %q needs encoding in a path", ref)
	}
	rec := f.do("GET", "/assets/"+ref, "")
	expect(t, rec, http.StatusOK, "", "")
	d := decodeBody[AssetDetail](t, rec)
	var checks []string
	for _, r := range d.Results {
		if r.AssetID != a.ID || r.RawOutput != nil {
			t.Errorf("result %+v is not the asset's head", r)
		}
		checks = append(checks, r.CheckID+" "+string(r.Status))
	}
	want := AssetDetail{Ref: ref, Asset: a,
		RelationshipsOut: []citadel.AssetRelationship{{IntegrationID: in.ID, FromARN: a.SourceID, ToARN: assets[1].SourceID, Kind: citadel.RelEncryptedBy}},
		RelationshipsIn:  []citadel.AssetRelationship{{IntegrationID: in.ID, FromARN: assets[2].SourceID, ToARN: a.SourceID, Kind: citadel.RelTrailBucket}},
	}
	d.Results, d.Asset.Fingerprint, want.Asset.Fingerprint = nil, "", ""
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("asset detail (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ec2_instance_public pass", "s3_bucket_public fail", "s3_bucket_versioning pass"}, checks); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	// An excepted result reads excepted, Prowler's status beside it.
	rec2 := f.do("GET", "/assets/"+citadel.AssetRef(in.ID, assets[2].SourceID), "")
	expect(t, rec2, http.StatusOK, "", "")
	var shown []string
	for _, r := range decodeBody[AssetDetail](t, rec2).Results {
		shown = append(shown, fmt.Sprintf("%s %s (%s) %s", r.CheckID, r.Status, r.ProwlerStatus, r.ExceptionID))
	}
	if diff := cmp.Diff([]string{"ec2_instance_public pass (pass) ", "s3_bucket_public excepted (fail) exc-accepted", "s3_bucket_versioning pass (pass) "}, shown); diff != "" {
		t.Errorf("results of bucket-2 (-want +got):\n%s", diff)
	}
	// Through the Lambda adapter, as API Gateway hands the path over.
	resp, err := httpadapter.NewV2(f.srv).ProxyWithContext(context.Background(), tokenEvent("GET", "/assets/"+ref, "val", []string{citadel.RoleViewer.Scope()}))
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"ref":"`+ref+`"`) {
		t.Errorf("GET through the adapter: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	// A client that percent-encodes '~' reaches the same asset.
	expect(t, f.do("GET", "/assets/"+strings.Replace(ref, "~", "%7E", 1), ""), http.StatusOK, "", "")

	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, id     string
		status       int
		code, reason string
	}{
		{"unknown asset", citadel.AssetRef(in.ID, "arn:aws:s3:::nope"), 404, "not_found", "arn:aws:s3:::nope"},
		{"unknown integration", citadel.AssetRef("int-nope", a.SourceID), 404, "not_found", "not found"},
		{"no separator", in.ID, 400, "invalid", `"id"`},
		{"not base64url", in.ID + "~" + "a.b", 400, "invalid", `"id"`},
		{"not an ARN", in.ID + "~" + enc("bucket-0"), 400, "invalid", "not an ARN"},
		{"not UTF-8", in.ID + "~" + base64.RawURLEncoding.EncodeToString([]byte("arn:\xff")), 400, "invalid", "not an ARN"},
		{"two separators", in.ID + "~" + enc("arn:x") + "~x", 400, "invalid", `"id"`},
		{"ARN too long", in.ID + "~" + enc("arn:"+strings.Repeat("x", citadel.MaxAssetARN)), 400, "invalid", "at most 2048 bytes"},
		{"ref too long", in.ID + "~" + strings.Repeat("x", citadel.MaxAssetRef), 400, "invalid", `"id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do("GET", "/assets/"+url.PathEscape(tc.id), ""), tc.status, tc.code, tc.reason)
		})
	}
}

func TestListEvidenceQueue(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"ev-1", "ev-2", "ev-3"} {
		seedEvidence(t, f, id)
	}
	f.createFolders("folder-2")
	expect(t, f.do("POST", "/evidence/ev-2/review", `{"decision":"approve","comment":"ok"}`), http.StatusOK, "", "")
	ids := func(query string) []string {
		t.Helper()
		var out []string
		cursor := ""
		for {
			path := "/evidence?limit=1&" + query
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			rec := f.do("GET", path, "")
			expect(t, rec, http.StatusOK, "", "")
			page := decodeBody[citadel.Page[citadel.Evidence]](t, rec)
			for _, e := range page.Items {
				out = append(out, e.ID+" "+string(e.Status))
			}
			if cursor = page.Next; cursor == "" {
				return out
			}
		}
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"status=in_review", []string{"ev-1 in_review", "ev-3 in_review"}},
		{"status=approved", []string{"ev-2 approved"}},
		{"status=rejected", nil},
		{"", []string{"ev-2 approved", "ev-1 in_review", "ev-3 in_review"}},
		{"folder_id=folder-2&status=in_review", nil},
	} {
		if d := cmp.Diff(tc.want, ids(tc.query)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, d)
		}
	}
	page := decodeBody[citadel.Page[citadel.Evidence]](t, f.do("GET", "/evidence?status=in_review&limit=1", ""))
	for _, tc := range []struct {
		query        string
		status       int
		code, reason string
	}{
		{"status=pending", 400, "invalid", `"status"`},
		{"folder_id=a%20b", 400, "invalid", "folder_id"},
		{"status=approved&cursor=" + page.Next, 400, "invalid", ddb.BadCursor},
		{"folder_id=folder-2&status=in_review&cursor=" + page.Next, 400, "invalid", ddb.BadCursor},
		{"status=in_review&cursor=" + page.Next, 200, "", ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			expect(t, f.do("GET", "/evidence?"+tc.query, ""), tc.status, tc.code, tc.reason)
		})
	}
}

// TestEvidenceReviewHistory: each review, by its caller (unknown outside
// API Gateway) at the server's clock, is in GET /evidence/{id}, newest
// first, and an edit of one is a chain break there.
func TestEvidenceReviewHistory(t *testing.T) {
	f := newFixture(t)
	seedEvidence(t, f, "ev-1")
	expect(t, f.do("POST", "/evidence/ev-1/review", `{"decision":"reject","comment":"still public"}`), http.StatusOK, "", "")
	const arn = "arn:aws:iam::123456789012:user/alice"
	resp, err := httpadapter.NewV2(f.srv).ProxyWithContext(context.Background(), events.APIGatewayV2HTTPRequest{
		RawPath: "/evidence/ev-1/review", Headers: map[string]string{"content-type": "application/json"},
		Body: `{"decision":"approve","comment":"fixed"}`,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/evidence/ev-1/review"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: arn}},
		},
	})
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"reviewed_by":"`+arn+`"`) {
		t.Fatalf("review through the adapter: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	rec := f.do("GET", "/evidence/ev-1", "")
	expect(t, rec, http.StatusOK, "", "")
	d := decodeBody[EvidenceDetail](t, rec)
	type seen struct {
		Number, Revision int
		By, Comment      string
		Decision         citadel.ReviewDecision
		At               string
	}
	var got []seen
	for _, r := range d.Reviews {
		got = append(got, seen{r.Number, r.Revision, r.By, r.Comment, r.Decision, r.At.Format("15:04")})
	}
	want := []seen{{2, 2, arn, "fixed", citadel.ReviewApprove, "12:00"}, {1, 2, UnknownCaller, "still public", citadel.ReviewReject, "12:00"}}
	if diff := cmp.Diff(want, got); diff != "" || d.ChainBreak != nil || d.Evidence.ReviewCount != 2 {
		t.Errorf("reviews newest first (-want +got):\n%s\nbreak %v, count %d", diff, d.ChainBreak, d.Evidence.ReviewCount)
	}
	// Someone edits the first review's comment in the table.
	rv := d.Reviews[1]
	rv.Comment = "approved by phone"
	if err := putRawReview(f, rv); err != nil {
		t.Fatal(err)
	}
	d = decodeBody[EvidenceDetail](t, f.do("GET", "/evidence/ev-1", ""))
	if d.ChainBreak == nil || d.ChainBreak.Review != 1 || !strings.Contains(d.ChainBreak.Reason, "hash does not match its content") {
		t.Errorf("tampered review: chain break %+v", d.ChainBreak)
	}
}

func TestFrameworkCoveragePaginates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.PutFrameworks(ctx, []citadel.Framework{{ID: "soc2", Name: "SOC 2", Source: "prowler", RequirementCount: 5}}); err != nil {
		t.Fatal(err)
	}
	var reqs []citadel.RequirementNode
	for i := range 5 {
		ref := fmt.Sprintf("cc_%d_1", i+1)
		reqs = append(reqs, citadel.RequirementNode{ID: "soc2:" + ref, FrameworkID: "soc2", RefID: ref, Name: ref, Assessable: true, Weight: 1})
	}
	if err := f.store.PutRequirements(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	seedControl(t, f, testFolder, "IAC-06") // mapped to soc2:cc_6_1, not among these
	whole := decodeBody[CoveragePage](t, f.do("GET", "/frameworks/soc2/coverage?limit=1000", ""))
	if len(whole.Requirements) != 5 || whole.Next != "" {
		t.Fatalf("whole: %d requirements, next %q", len(whole.Requirements), whole.Next)
	}
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		path := "/frameworks/soc2/coverage?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		rec := f.do("GET", path, "")
		expect(t, rec, http.StatusOK, "", "")
		p := decodeBody[CoveragePage](t, rec)
		if d := cmp.Diff(whole.Coverage, p.Coverage); d != "" || p.Score != whole.Score || len(p.Requirements) > 2 {
			t.Errorf("page %d: %d requirements, coverage (-whole +page):\n%s", pages, len(p.Requirements), d)
		}
		for _, r := range p.Requirements {
			if r.AssessmentID != citadel.RequirementAssessmentID(testFolder, r.RequirementID) {
				t.Errorf("%s: assessment id %q", r.RequirementID, r.AssessmentID)
			}
			ids = append(ids, r.RequirementID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if d := cmp.Diff([]string{"soc2:cc_1_1", "soc2:cc_2_1", "soc2:cc_3_1", "soc2:cc_4_1", "soc2:cc_5_1"}, ids); d != "" {
		t.Errorf("requirements over the pages (-want +got):\n%s", d)
	}
	// The assessment id it gives is the one PUT takes.
	body := `{"requirement_id":"soc2:cc_3_1","result":"compliant"}`
	expect(t, f.do("PUT", "/requirement-assessments/"+whole.Requirements[2].AssessmentID, body), http.StatusOK, "", "")
	for _, tc := range []struct {
		query        string
		status       int
		code, reason string
	}{
		{"cursor=" + b64("cis:1.1"), 400, "invalid", ddb.BadCursor},
		{"cursor=" + b64("\xff"), 400, "invalid", ddb.BadCursor},
		{"cursor=!", 400, "invalid", `"cursor"`},
		{"limit=0", 400, "invalid", "limit"},
		{"cursor=" + b64("soc2:cc_9_9"), 200, "", ""}, // after the last: an empty page
	} {
		t.Run(tc.query, func(t *testing.T) {
			expect(t, f.do("GET", "/frameworks/soc2/coverage?"+tc.query, ""), tc.status, tc.code, tc.reason)
		})
	}
}

// putRawReview overwrites a review item's comment in the table, as someone
// with write access to DynamoDB could, past the store.
func putRawReview(f *fixture, rv citadel.EvidenceReview) error {
	client := dynamodb.NewFromConfig(testenv.Config(f.t))
	_, err := client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(f.store.TableName()),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "EVID#" + rv.EvidenceID},
			"SK": &types.AttributeValueMemberS{Value: fmt.Sprintf("REVIEW#%08d", rv.Number)},
		},
		UpdateExpression:          aws.String("SET #c = :c"),
		ExpressionAttributeNames:  map[string]string{"#c": "Comment"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: rv.Comment}},
	})
	return err
}
