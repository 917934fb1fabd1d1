package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// TestSpecPatternsAreTheDomains: where a pattern lives in Go, openapi.yaml
// declares the same one, so the document accepts what the domain accepts.
func TestSpecPatternsAreTheDomains(t *testing.T) {
	doc, err := LoadSpec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	schema := func(name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	prop := func(s *openapi3.Schema, name string) *openapi3.Schema { return s.Properties[name].Value }
	param := func(name string) *openapi3.Schema { return doc.Components.Parameters[name].Value.Schema.Value }
	for _, tc := range []struct {
		where string
		got   *openapi3.Schema
		want  string
	}{
		{"schemas.ID", schema("ID"), citadel.PatternID},
		{"schemas.Region", schema("Region"), citadel.PatternRegion},
		{"schemas.FrameworkID", schema("FrameworkID"), citadel.PatternFrameworkID},
		{"schemas.ScheduleExpression", schema("ScheduleExpression"), citadel.PatternOptionalScheduleExpression},
		{"IntegrationCreate.account_id", prop(schema("IntegrationCreate"), "account_id"), citadel.PatternAccountID},
		{"IntegrationCreate.frameworks[]", prop(schema("IntegrationCreate"), "frameworks").Items.Value, citadel.PatternFrameworkID},
		{"IntegrationPatch.frameworks[]", prop(schema("IntegrationPatch"), "frameworks").Items.Value, citadel.PatternFrameworkID},
		{"IntegrationCreate.schedule_expression", prop(schema("IntegrationCreate"), "schedule_expression"), citadel.PatternOptionalScheduleExpression},
		{"IntegrationPatch.schedule_expression", prop(schema("IntegrationPatch"), "schedule_expression"), citadel.PatternOptionalScheduleExpression},
		{"IntegrationCreate.regions[]", prop(schema("IntegrationCreate"), "regions").Items.Value, citadel.PatternRegion},
		{"AssessmentPut.framework_id", prop(schema("AssessmentPut"), "framework_id"), citadel.PatternFrameworkID},
		{"parameters.AssessmentID", param("AssessmentID"), citadel.PatternAssessmentID},
		{"parameters.ID", param("ID"), citadel.PatternID},
		{"parameters.Cursor", param("Cursor"), ddb.PatternCursor},
		{"parameters.AssetRef", param("AssetRef"), citadel.PatternAssetRef},
		{"GET /results service", doc.Paths.Value("/results").Get.Parameters.GetByInAndName("query", "service").Schema.Value, citadel.PatternService},
	} {
		if tc.got.Pattern != tc.want {
			t.Errorf("%s: openapi.yaml has pattern %q, the domain %q", tc.where, tc.got.Pattern, tc.want)
		}
	}
	if got := param("AssetRef").MaxLength; got == nil || *got != citadel.MaxAssetRef {
		t.Errorf("parameters.AssetRef: openapi.yaml has maxLength %v, citadel.MaxAssetRef is %d", got, citadel.MaxAssetRef)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// exceptionAt is a request for an exception of check s3_bucket_public (not
// in this test's catalog) with a scope and an expiry.
func exceptionAt(integ, scope, expires string) string {
	return fmt.Sprintf(`{"integration_id":%q,"check_id":"s3_bucket_public","scope":%s,"justification":"j","owner":"o","expires_at":%q}`, integ, scope, expires)
}

// TestNoServerErrorFromHostileInput: what a fuzzing client found to be a
// 500 or an HTML redirect is a 4xx with a JSON reason, and stores nothing.
func TestNoServerErrorFromHostileInput(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	if err := f.store.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Name: "CC6.1", Assessable: true, Weight: 1},
	}); err != nil {
		t.Fatal(err)
	}
	in := f.createIntegration(validIntegration)
	f.createIntegration(strings.ReplaceAll(validIntegration, "123456789012", "210987654321")) // one integration per account
	f.createFolders("folder-2")

	integrationsPage := decodeBody[citadel.Page[citadel.Integration]](t, f.do("GET", "/integrations?limit=1", ""))
	if integrationsPage.Next == "" {
		t.Fatal("no second page of integrations")
	}
	ra := citadel.RequirementAssessmentID(testFolder, "soc2:cc_6_1")
	answers := func(n, size int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("%q:%q", fmt.Sprint("q", i), strings.Repeat("a", size))
		}
		return `{"requirement_id":"soc2:cc_6_1","result":"compliant","answers":{` + strings.Join(parts, ",") + `}}`
	}
	// Schema-valid (the document cannot bound a key's length) and over
	// DynamoDB's item limit once stored.
	hugeKey := fmt.Sprintf(`{"requirement_id":"soc2:cc_6_1","result":"compliant","answers":{%q:"x"}}`, strings.Repeat("k", 800<<10))
	forged := b64(`{"a":"b"}`)

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, reason             string
	}{
		{"an 800 KB assessment", "PUT", "/requirement-assessments/" + ra, hugeKey, 413, "too_large", "over DynamoDB's 409600-byte item limit"},
		{"too many answers", "PUT", "/requirement-assessments/" + ra, answers(101, 1), 400, "invalid", "answers"},
		{"an answer too long", "PUT", "/requirement-assessments/" + ra, answers(1, 2001), 400, "invalid", "answers"},
		{"the most answers the document takes", "PUT", "/requirement-assessments/" + ra, answers(100, 2000), 200, "", ""},
		{"forged cursor: integrations", "GET", "/integrations?cursor=" + forged, "", 400, "invalid", ddb.BadCursor},
		{"forged cursor: scans", "GET", "/integrations/" + in.ID + "/scans?cursor=" + forged, "", 400, "invalid", ddb.BadCursor},
		{"forged cursor: assets", "GET", "/assets?integration_id=" + in.ID + "&cursor=" + forged, "", 400, "invalid", ddb.BadCursor},
		{"forged cursor: controls", "GET", "/controls?cursor=" + forged, "", 400, "invalid", ddb.BadCursor},
		{"forged cursor: frameworks", "GET", "/frameworks?cursor=" + forged, "", 400, "invalid", ddb.BadCursor},
		{"forged cursor: exceptions", "GET", "/exceptions?cursor=" + forged, "", 400, "invalid", ddb.BadCursor},
		{"forged cursor: an integration's exceptions", "GET", "/exceptions?integration_id=" + in.ID + "&cursor=" + forged, "", 400, "invalid", ddb.BadCursor},
		// The document bounds characters, the domain an ARN's bytes.
		{"an asset ARN of 2048 two-byte characters", "POST", "/exceptions", exceptionAt(in.ID, `{"kind":"asset","asset_arn":"`+strings.Repeat("é", 2048)+`"}`, "2026-12-01T00:00:00Z"), 400, "invalid", "at most 2048 bytes"},
		{"an expiry at year 1", "POST", "/exceptions", exceptionAt(in.ID, `{"kind":"integration"}`, "0001-01-01T00:00:00Z"), 400, "invalid", "expires_at is required"},
		{"an expiry at year 9999", "POST", "/exceptions", exceptionAt(in.ID, `{"kind":"integration"}`, "9999-12-31T23:59:59Z"), 400, "invalid", "more than 365 days ahead"},
		{"an expiry with an offset", "POST", "/exceptions", exceptionAt(in.ID, `{"kind":"integration"}`, "2026-12-01T00:00:00+14:00"), 404, "not_found", "security check s3_bucket_public"},
		{"a null note body", "POST", "/exceptions/exc-1/approve", "null", 400, "invalid", "request body"},
		{"a note body that is a string", "POST", "/exceptions/exc-1/approve", `"ok"`, 400, "invalid", "request body"},
		{"cursor off the pattern: frameworks", "GET", "/frameworks?cursor=!!!", "", 400, "invalid", `"cursor"`},
		{"cursor of another list", "GET", "/controls?cursor=" + integrationsPage.Next, "", 400, "invalid", ddb.BadCursor},
		{"cursor of another folder", "GET", "/integrations?folder_id=folder-2&cursor=" + integrationsPage.Next, "", 400, "invalid", ddb.BadCursor},
		{"cursor not base64url", "GET", "/integrations?cursor=a+b/c=", "", 400, "invalid", `"cursor"`},
		{"its own cursor", "GET", "/integrations?cursor=" + integrationsPage.Next, "", 200, "", ""},
		{"empty segment", "GET", "//integrations", "", 400, "invalid", "empty segment"},
		{"empty segment inside", "GET", "/integrations//" + in.ID, "", 400, "invalid", "empty segment"},
		{"dot-dot segment", "GET", "/integrations/../x", "", 400, "invalid", ".. segment"},
		{"dot segment", "GET", "/integrations/./" + in.ID, "", 400, "invalid", ". segment"},
		{"dot-dot id", "DELETE", "/integrations/..", "", 400, "invalid", ".. segment"},
		{"trailing dot-dot on a POST", "POST", "/integrations/" + in.ID + "/scans/..", "", 400, "invalid", ".. segment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do(tc.method, tc.path, tc.body)
			expect(t, rec, tc.status, tc.code, tc.reason)
			if loc := rec.Header().Get("Location"); loc != "" && tc.status >= 400 {
				t.Errorf("a refused request answers Location %q", loc)
			}
		})
	}
	if got, err := f.store.GetAssessment(ctx, ra); err != nil || len(got.Answers) != 100 {
		t.Errorf("stored assessment: %d answers, %v; want the 100 of the one accepted PUT", len(got.Answers), err)
	}
	if _, err := f.store.GetIntegration(ctx, in.ID); err != nil {
		t.Errorf("DELETE /integrations/.. touched an integration: %v", err)
	}
}

func TestItemTooLargeIsA413(t *testing.T) {
	err := fmt.Errorf("put assessment: %w", &ddb.ItemTooLargeError{Item: "RequirementAssessment RA#ra-1/RA", Size: 812345})
	s := &Server{Deps: Deps{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}}
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("PUT", "/x", nil), err)
	e := decodeBody[ErrorBody](t, rec)
	want := "the record to store would be 812345 bytes, over DynamoDB's 409600-byte item limit; send fewer or shorter values"
	if rec.Code != http.StatusRequestEntityTooLarge || e.Error != "too_large" || e.Message != want {
		t.Errorf("response %d %+v, want 413 too_large %q", rec.Code, e, want)
	}
}
