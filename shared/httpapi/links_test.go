package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// seedLinks puts two checks, three SCF controls and s3_public's imported links.
func seedLinks(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	check := func(id string) citadel.SecurityCheck {
		return citadel.SecurityCheck{ID: id, Title: id, Service: "s3", Severity: citadel.SeverityHigh}
	}
	if err := f.store.PutChecks(ctx, []citadel.SecurityCheck{check("s3_public"), check("s3_encrypted")}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutSCFControls(ctx, []citadel.SCFControl{{ID: "CRY-05"}, {ID: "NET-03"}, {ID: "DCH-01"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutCheckSCFLinks(ctx, []citadel.CheckSCFLink{
		{CheckID: "s3_public", SCFID: "CRY-05", Rank: 1, Score: 2, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_1"}},
		{CheckID: "s3_public", SCFID: "DCH-01", Rank: 2, Score: 1, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_7"}},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckLinksCorrected(t *testing.T) {
	f := newFixture(t)
	seedLinks(t, f)
	type short struct {
		SCF    string
		Rank   int
		Origin citadel.LinkOrigin
		Expl   string
	}
	shorten := func(cl CheckLinks) []short {
		var out []short
		for _, l := range cl.Links {
			out = append(out, short{l.SCFID, l.Rank, l.Origin, l.Explanation})
		}
		return out
	}
	imported := "imported: frameworks soc2; requirements soc2:cc_6_1; score 2.00"
	got := decodeBody[CheckLinks](t, f.do("GET", "/checks/s3_public/links", ""))
	want := []short{{"CRY-05", 1, citadel.LinkImported, imported}, {"DCH-01", 2, citadel.LinkImported, "imported: frameworks soc2; requirements soc2:cc_6_7; score 1.00"}}
	if d := cmp.Diff(want, shorten(got)); d != "" {
		t.Errorf("before (-want +got):\n%s", d)
	}

	rec := f.do("DELETE", "/checks/s3_public/links/DCH-01", `{"reason":"a public bucket says nothing of data protection"}`)
	expect(t, rec, http.StatusOK, "", "")
	rec = f.do("PUT", "/checks/s3_public/links/NET-03", `{"reason":"public access is network exposure"}`)
	expect(t, rec, http.StatusOK, "", "")
	got = decodeBody[CheckLinks](t, rec)
	want = []short{{"NET-03", 1, citadel.LinkManual, "manual: added by unknown on 2026-11-29: public access is network exposure"}, {"CRY-05", 2, citadel.LinkImported, imported}}
	if d := cmp.Diff(want, shorten(got)); d != "" {
		t.Errorf("after (-want +got):\n%s", d)
	}
	wantCorr := []citadel.LinkCorrection{
		{CheckID: "s3_public", SCFID: "DCH-01", Action: citadel.LinkRemove, Reason: "a public bucket says nothing of data protection", By: UnknownCaller, At: t0},
		{CheckID: "s3_public", SCFID: "NET-03", Action: citadel.LinkAdd, Reason: "public access is network exposure", By: UnknownCaller, At: t0},
	}
	if d := cmp.Diff(wantCorr, got.Corrections); d != "" {
		t.Errorf("corrections (-want +got):\n%s", d)
	}
	if d := cmp.Diff(got, decodeBody[CheckLinks](t, f.do("GET", "/checks/s3_public/links", ""))); d != "" {
		t.Errorf("GET after the corrections differs from their answer (-put +get):\n%s", d)
	}
	// A check with no links at all answers empty lists.
	if body := f.do("GET", "/checks/s3_encrypted/links", "").Body.String(); !strings.Contains(body, `"links":[],"corrections":[]`) {
		t.Errorf("check without links: %s", body)
	}
}

// TestCheckLinksBadInput: each kind of bad input is a 4xx naming why, and
// writes nothing.
func TestCheckLinksBadInput(t *testing.T) {
	f := newFixture(t)
	seedLinks(t, f)
	long := strings.Repeat("x", citadel.MaxCorrectionReason+1)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, reason             string
	}{
		{"unknown check (GET)", "GET", "/checks/nope/links", "", 404, "not_found", "security check nope not found"},
		{"unknown check", "PUT", "/checks/nope/links/CRY-05", `{"reason":"r"}`, 404, "not_found", "security check nope not found"},
		{"unknown SCF control", "PUT", "/checks/s3_public/links/XYZ-99", `{"reason":"r"}`, 404, "not_found", "SCF control XYZ-99 not found"},
		{"unknown SCF control (DELETE)", "DELETE", "/checks/s3_public/links/XYZ-99", `{"reason":"r"}`, 404, "not_found", "SCF control XYZ-99 not found"},
		{"not an SCF id", "PUT", "/checks/s3_public/links/cry05", `{"reason":"r"}`, 400, "invalid", "scf_id"},
		{"no body", "DELETE", "/checks/s3_public/links/CRY-05", "", 400, "invalid", "body"},
		{"no reason", "PUT", "/checks/s3_public/links/CRY-05", `{}`, 400, "invalid", "reason"},
		{"blank reason", "PUT", "/checks/s3_public/links/CRY-05", `{"reason":"   "}`, 400, "invalid", "reason"},
		{"reason too long", "PUT", "/checks/s3_public/links/CRY-05", `{"reason":"` + long + `"}`, 400, "invalid", "reason"},
		{"unknown field", "PUT", "/checks/s3_public/links/CRY-05", `{"reason":"r","by":"me"}`, 400, "invalid", "by"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do(tc.method, tc.path, tc.body), tc.status, tc.code, tc.reason)
		})
	}
	if got, err := f.store.ListLinkCorrections(context.Background()); err != nil || len(got) != 0 {
		t.Errorf("refused requests wrote corrections: %v, %v", got, err)
	}
}

// TestCheckLinkByCaller: behind API Gateway, `by` is the caller the
// authorizer names.
func TestCheckLinkByCaller(t *testing.T) {
	f := newFixture(t)
	seedLinks(t, f)
	const arn = "arn:aws:iam::123456789012:user/alice"
	req := events.APIGatewayV2HTTPRequest{
		RawPath: "/checks/s3_public/links/NET-03", Headers: map[string]string{"content-type": "application/json"},
		Body: `{"reason":"exposure"}`,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "PUT", Path: "/checks/s3_public/links/NET-03"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: arn}},
		},
	}
	resp, err := httpadapter.NewV2(f.srv).ProxyWithContext(context.Background(), req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT through the adapter: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	got, err := f.store.LinkCorrectionsOfCheck(context.Background(), "s3_public")
	if err != nil || len(got) != 1 || got[0].By != arn {
		t.Errorf("correction = %+v, %v; want by %s", got, err, arn)
	}
}

// TestLinkReasonBound: the document's bound on a reason and its SCF id
// pattern are citadel's.
func TestLinkReasonBound(t *testing.T) {
	doc, err := LoadSpec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Parameters["SCFID"].Value.Schema.Value.Pattern; got != citadel.PatternSCFID {
		t.Errorf("parameters.SCFID pattern = %q, want citadel.PatternSCFID %q", got, citadel.PatternSCFID)
	}
	max := doc.Components.Schemas["LinkReason"].Value.Properties["reason"].Value.MaxLength
	if max == nil || *max != uint64(citadel.MaxCorrectionReason) {
		t.Errorf("LinkReason.reason maxLength = %v, want %d", max, citadel.MaxCorrectionReason)
	}
}
