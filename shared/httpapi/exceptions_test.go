package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/busevents"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/scanend"
)

// as sends a request as user with one role, through API Gateway's JWT
// authorizer as the console's requests come, and checks the response
// against the document as do does.
func (f *fixture) as(user string, role citadel.Role, method, path, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		f.t.Fatal(err)
	}
	ev := tokenEvent(method, u.Path, user, []string{"openid", role.Scope()})
	ev.RawQueryString, ev.Body = u.RawQuery, body
	if body == "" {
		ev.Headers = map[string]string{}
	}
	req, err := (&core.RequestAccessorV2{}).EventToRequestWithContext(context.Background(), ev)
	if err != nil {
		f.t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	f.checkResponse(req, rec)
	return rec
}

// exceptionFixture is an API with an integration (int-0001) and its
// findings: the checks ec2_instance_public, s3_bucket_public and
// s3_bucket_versioning on 4 buckets.
func exceptionFixture(t *testing.T, opts ...func(*Deps)) (*fixture, citadel.Integration, []citadel.Asset) {
	t.Helper()
	f := newFixture(t, opts...)
	f.putFrameworks("cis_2.0")
	in := f.createIntegration(validIntegration)
	return f, in, seedFindings(t, f, in)
}

func excBody(integ, check, scope string, expires time.Time) string {
	return fmt.Sprintf(`{"integration_id":%q,"check_id":%q,"scope":%s,"justification":"a public website","owner":"web team","expires_at":%q}`,
		integ, check, scope, expires.Format(time.RFC3339))
}

// request asks for an exception of the integration's s3_bucket_public as
// user (an operator), for 30 days, and returns it.
func (f *fixture) request(user, integ, scope string) citadel.Exception {
	f.t.Helper()
	rec := f.as(user, citadel.RoleOperator, "POST", "/exceptions", excBody(integ, "s3_bucket_public", scope, t0.Add(30*24*time.Hour)))
	expect(f.t, rec, http.StatusCreated, "", "")
	return decodeBody[citadel.Exception](f.t, rec)
}

func TestCreateException(t *testing.T) {
	f, in, assets := exceptionFixture(t)
	ctx := context.Background()
	// A resource the inventory does not collect, with a result of the check.
	lambdaARN := "arn:aws:lambda:us-east-1:123456789012:function:web"
	if err := f.store.PutResults(ctx, []ddb.ResultWrite{{Result: citadel.CheckResult{IntegrationID: in.ID, CheckID: "s3_bucket_public",
		AssetID: citadel.AssetID(in.ID, citadel.SourceAWS, lambdaARN), AssetARN: lambdaARN, ScanID: "scan-0001", Status: citadel.StatusFail, ScannedAt: t0}}}); err != nil {
		t.Fatal(err)
	}
	expires := t0.Add(30 * 24 * time.Hour)
	bucket := assets[0].SourceID

	rec := f.as("olga", citadel.RoleOperator, "POST", "/exceptions", excBody(in.ID, "s3_bucket_public", fmt.Sprintf(`{"kind":"asset","asset_arn":%q}`, bucket), expires))
	expect(t, rec, http.StatusCreated, "", "")
	got := decodeBody[citadel.Exception](t, rec)
	want := citadel.Exception{ID: "exc-0001", FolderID: testFolder, IntegrationID: in.ID, CheckID: "s3_bucket_public",
		Scope:         citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: bucket, AssetID: assets[0].ID},
		Justification: "a public website", Owner: "web team", RequestedBy: "olga", RequestedAt: t0, ExpiresAt: expires,
		Status: citadel.ExceptionRequested, UpdatedAt: t0, History: []citadel.ExceptionTransition{{To: citadel.ExceptionRequested, By: "olga", At: t0}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("created (-want +got):\n%s", d)
	}
	if loc := rec.Header().Get("Location"); loc != "/exceptions/exc-0001" {
		t.Errorf("Location %q", loc)
	}
	shown := f.do("GET", "/exceptions/exc-0001", "")
	expect(t, shown, http.StatusOK, "", "")
	if d := cmp.Diff(want, decodeBody[citadel.Exception](t, shown)); d != "" {
		t.Errorf("GET (-want +got):\n%s", d)
	}
	for _, scope := range []string{fmt.Sprintf(`{"kind":"asset","asset_arn":%q}`, lambdaARN), `{"kind":"integration"}`,
		`{"kind":"tag","tag_key":"public","tag_value":"yes"}`, `{"kind":"tag","tag_key":"exposed"}`} {
		f.request("olga", in.ID, scope)
	}
	// Any role that works on the estate may ask.
	for _, role := range []citadel.Role{citadel.RoleAdmin, citadel.RoleAuditor} {
		rec := f.as("u-"+string(role), role, "POST", "/exceptions", excBody(in.ID, "s3_bucket_public", `{"kind":"integration"}`, expires))
		expect(t, rec, http.StatusCreated, "", "")
	}
	stored := func() int {
		page, err := f.store.ListExceptionsOfFolder(ctx, testFolder, "", 1000, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Items)
	}
	before := stored()
	if before != 7 {
		t.Fatalf("%d exceptions stored, want 7", before)
	}

	valid := func(mutate func(m map[string]string)) string {
		m := map[string]string{"integration_id": `"` + in.ID + `"`, "check_id": `"s3_bucket_public"`, "scope": `{"kind":"integration"}`,
			"justification": `"a public website"`, "owner": `"web team"`, "expires_at": `"` + expires.Format(time.RFC3339) + `"`}
		mutate(m)
		var parts []string
		for _, k := range []string{"integration_id", "check_id", "scope", "justification", "owner", "expires_at", "extra"} {
			if v, ok := m[k]; ok {
				parts = append(parts, fmt.Sprintf("%q:%s", k, v))
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	set := func(k, v string) func(map[string]string) { return func(m map[string]string) { m[k] = v } }
	drop := func(k string) func(map[string]string) { return func(m map[string]string) { delete(m, k) } }
	at := func(d time.Duration) string { return `"` + t0.Add(d).Format(time.RFC3339) + `"` }
	for _, tt := range []struct {
		name, body string
		role       citadel.Role
		status     int
		code, msg  string
	}{
		{"malformed JSON", `{"integration_id":`, citadel.RoleOperator, 400, "invalid", "request body"},
		{"an unknown field", valid(set("extra", `1`)), citadel.RoleOperator, 400, "invalid", "extra"},
		{"no justification", valid(drop("justification")), citadel.RoleOperator, 400, "invalid", "justification"},
		{"no owner", valid(drop("owner")), citadel.RoleOperator, 400, "invalid", "owner"},
		{"no expiry", valid(drop("expires_at")), citadel.RoleOperator, 400, "invalid", "expires_at"},
		{"no scope", valid(drop("scope")), citadel.RoleOperator, 400, "invalid", "scope"},
		{"a blank owner", valid(set("owner", `"   "`)), citadel.RoleOperator, 400, "invalid", "owner"},
		{"a justification too long", valid(set("justification", `"`+strings.Repeat("j", 2001)+`"`)), citadel.RoleOperator, 400, "invalid", "justification"},
		{"an unknown scope kind", valid(set("scope", `{"kind":"account"}`)), citadel.RoleOperator, 400, "invalid", "kind"},
		{"an asset without its ARN", valid(set("scope", `{"kind":"asset"}`)), citadel.RoleOperator, 400, "invalid", "scope.asset_arn is required for kind asset"},
		{"an integration scope naming an asset", valid(set("scope", `{"kind":"integration","asset_arn":"arn:aws:s3:::x"}`)), citadel.RoleOperator, 400, "invalid", "kind integration takes no asset_arn"},
		{"a tag without its key", valid(set("scope", `{"kind":"tag","tag_value":"yes"}`)), citadel.RoleOperator, 400, "invalid", "scope.tag_key is required"},
		{"a scope with an asset id", valid(set("scope", `{"kind":"asset","asset_arn":"arn:aws:s3:::x","asset_id":"abc"}`)), citadel.RoleOperator, 400, "invalid", "asset_id"},
		{"an expiry in the past", valid(set("expires_at", at(-time.Hour))), citadel.RoleOperator, 400, "invalid", "is not in the future"},
		{"an expiry now", valid(set("expires_at", at(0))), citadel.RoleOperator, 400, "invalid", "is not in the future"},
		{"an expiry beyond the maximum", valid(set("expires_at", at(366*24*time.Hour))), citadel.RoleOperator, 400, "invalid", "more than 365 days ahead"},
		{"an expiry that is no time", valid(set("expires_at", `"next year"`)), citadel.RoleOperator, 400, "invalid", "expires_at"},
		{"a malformed integration id", valid(set("integration_id", `"a/b"`)), citadel.RoleOperator, 400, "invalid", "integration_id"},
		{"an unknown integration", valid(set("integration_id", `"int-nope"`)), citadel.RoleOperator, 404, "not_found", "int-nope"},
		{"an unknown check", valid(set("check_id", `"s3_nope"`)), citadel.RoleOperator, 404, "not_found", "s3_nope"},
		{"an unknown asset", valid(set("scope", `{"kind":"asset","asset_arn":"arn:aws:s3:::nowhere"}`)), citadel.RoleOperator, 404, "not_found",
			"asset arn:aws:s3:::nowhere is not an asset of integration int-0001, and check s3_bucket_public has no result on it"},
		// lambdaARN has a result of s3_bucket_public only: for another check it is unknown.
		{"an asset with a result of another check only", valid(func(m map[string]string) {
			m["scope"], m["check_id"] = fmt.Sprintf(`{"kind":"asset","asset_arn":%q}`, lambdaARN), `"s3_bucket_versioning"`
		}), citadel.RoleOperator, 404, "not_found", "check s3_bucket_versioning has no result on it"},
		{"a viewer", valid(func(map[string]string) {}), citadel.RoleViewer, 403, "forbidden", "this needs the exception permission (role admin or operator or auditor)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, f.as("olga", tt.role, "POST", "/exceptions", tt.body), tt.status, tt.code, tt.msg)
		})
	}
	rec = f.do("POST", "/exceptions", valid(func(map[string]string) {}), "Content-Type", "text/plain")
	expect(t, rec, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	if n := stored(); n != before {
		t.Errorf("refused requests stored %d exceptions", n-before)
	}

	// A deployment's shorter maximum.
	short, in2, _ := exceptionFixture(t, func(d *Deps) { d.MaxExceptionDays = 30 })
	expect(t, short.as("olga", citadel.RoleOperator, "POST", "/exceptions", excBody(in2.ID, "s3_bucket_public", `{"kind":"integration"}`, t0.Add(31*24*time.Hour))),
		http.StatusBadRequest, "invalid", "more than 30 days ahead")
	expect(t, short.as("olga", citadel.RoleOperator, "POST", "/exceptions", excBody(in2.ID, "s3_bucket_public", `{"kind":"integration"}`, t0.Add(30*24*time.Hour))),
		http.StatusCreated, "", "")
}

func TestDecideExceptions(t *testing.T) {
	f, in, _ := exceptionFixture(t)
	ctx := context.Background()
	e := f.request("olga", in.ID, `{"kind":"integration"}`)
	path := "/exceptions/" + e.ID

	// Refused: nothing changes.
	for _, tt := range []struct {
		name, user string
		role       citadel.Role
		path, body string
		status     int
		code, msg  string
	}{
		{"an operator approves", "oscar", citadel.RoleOperator, path + "/approve", "", 403, "forbidden", "this needs the review permission (role admin or auditor)"},
		{"a viewer rejects", "val", citadel.RoleViewer, path + "/reject", "", 403, "forbidden", "review permission"},
		{"an operator revokes", "olga", citadel.RoleOperator, path + "/revoke", "", 403, "forbidden", "review permission"},
		{"a requested one revoked", "bob", citadel.RoleAuditor, path + "/revoke", "", 409, "conflict", "an exception requested cannot revoke (it can: approve, reject, expire)"},
		{"a note too long", "bob", citadel.RoleAuditor, path + "/approve", `{"note":"` + strings.Repeat("n", 1001) + `"}`, 400, "invalid", "note"},
		{"an unknown field", "bob", citadel.RoleAuditor, path + "/approve", `{"comment":"ok"}`, 400, "invalid", "comment"},
		{"an unknown id", "bob", citadel.RoleAuditor, "/exceptions/exc-nope/approve", "", 404, "not_found", "exception exc-nope not found"},
		{"a malformed id", "bob", citadel.RoleAuditor, "/exceptions/a%20b/approve", "", 400, "invalid", "id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, f.as(tt.user, tt.role, "POST", tt.path, tt.body), tt.status, tt.code, tt.msg)
		})
	}
	// Its requester may not decide it, whatever the role.
	own := f.as("dana", citadel.RoleAuditor, "POST", "/exceptions", excBody(in.ID, "s3_bucket_public", `{"kind":"integration"}`, t0.Add(24*time.Hour)))
	expect(t, own, http.StatusCreated, "", "")
	mine := decodeBody[citadel.Exception](t, own)
	for _, a := range []string{"approve", "reject"} {
		expect(t, f.as("dana", citadel.RoleAuditor, "POST", "/exceptions/"+mine.ID+"/"+a, ""), http.StatusForbidden, "forbidden",
			"requested by dana: its requester may not "+a+" it")
		expect(t, f.as("dana", citadel.RoleAdmin, "POST", "/exceptions/"+mine.ID+"/"+a, ""), http.StatusForbidden, "forbidden", "its requester")
	}
	for _, id := range []string{e.ID, mine.ID} {
		if got, err := f.store.GetException(ctx, id); err != nil || got.Status != citadel.ExceptionRequested || len(got.History) != 1 {
			t.Errorf("refused decisions changed %s: %+v %v", id, got, err)
		}
	}

	// Approved by an auditor, revoked by an admin.
	rec := f.as("bob", citadel.RoleAuditor, "POST", path+"/approve", `{"note":"until the CDN is in place"}`)
	expect(t, rec, http.StatusOK, "", "")
	approved := decodeBody[citadel.Exception](t, rec)
	if approved.Status != citadel.ExceptionApproved || approved.DecidedBy != "bob" || approved.DecisionNote != "until the CDN is in place" || !approved.DecidedAt.Equal(t0) {
		t.Errorf("approved: %+v", approved)
	}
	expect(t, f.as("carol", citadel.RoleAuditor, "POST", path+"/approve", ""), http.StatusConflict, "conflict", "an exception approved cannot approve")
	expect(t, f.as("carol", citadel.RoleAuditor, "POST", path+"/reject", "{}"), http.StatusConflict, "conflict", "an exception approved cannot reject")
	rec = f.as("ann", citadel.RoleAdmin, "POST", path+"/revoke", "")
	expect(t, rec, http.StatusOK, "", "")
	revoked := decodeBody[citadel.Exception](t, rec)
	wantHistory := []citadel.ExceptionTransition{
		{To: citadel.ExceptionRequested, By: "olga", At: t0},
		{From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "bob", At: t0, Note: "until the CDN is in place"},
		{From: citadel.ExceptionApproved, To: citadel.ExceptionRevoked, By: "ann", At: t0},
	}
	if d := cmp.Diff(wantHistory, revoked.History); d != "" || revoked.Status != citadel.ExceptionRevoked || revoked.DecidedBy != "bob" {
		t.Errorf("revoked %s by %s; history (-want +got):\n%s", revoked.Status, revoked.DecidedBy, d)
	}
	expect(t, f.as("ann", citadel.RoleAdmin, "POST", path+"/revoke", ""), http.StatusConflict, "conflict", "revoked is final")

	// Rejected, then final.
	expect(t, f.as("bob", citadel.RoleAuditor, "POST", "/exceptions/"+mine.ID+"/reject", `{"note":"fix it instead"}`), http.StatusOK, "", "")
	expect(t, f.as("carol", citadel.RoleAuditor, "POST", "/exceptions/"+mine.ID+"/approve", ""), http.StatusConflict, "conflict", "rejected is final")

	// Past its expiry, a request can only expire.
	old, err := citadel.RequestException("exc-old", testFolder, citadel.ExceptionRequest{IntegrationID: in.ID, CheckID: "s3_bucket_public",
		Scope: citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, Justification: "j", Owner: "o", ExpiresAt: t0.Add(-time.Hour)}, "olga", t0.Add(-48*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateException(ctx, old); err != nil {
		t.Fatal(err)
	}
	expect(t, f.as("bob", citadel.RoleAuditor, "POST", "/exceptions/exc-old/approve", ""), http.StatusConflict, "conflict",
		"exception exc-old expired at 2026-11-29T11:00:00Z: it can no longer approve")

	// Outside API Gateway (citadel serve without a sign-in) every caller is
	// "unknown": an exception requested so cannot be decided so.
	rec = f.do("POST", "/exceptions", excBody(in.ID, "s3_bucket_public", `{"kind":"integration"}`, t0.Add(time.Hour)))
	expect(t, rec, http.StatusCreated, "", "")
	local := decodeBody[citadel.Exception](t, rec)
	if local.RequestedBy != UnknownCaller {
		t.Errorf("requested_by %q outside API Gateway, want %q", local.RequestedBy, UnknownCaller)
	}
	expect(t, f.do("POST", "/exceptions/"+local.ID+"/approve", ""), http.StatusForbidden, "forbidden", "requested by unknown")
}

func TestListExceptions(t *testing.T) {
	f, in, _ := exceptionFixture(t)
	f.createFolders("folder-2")
	other := f.createIntegration(`{"folder_id":"folder-2","name":"other","account_id":"210987654321","frameworks":["cis_2.0"]}`)
	a := f.request("olga", in.ID, `{"kind":"integration"}`)
	b := f.request("olga", in.ID, `{"kind":"tag","tag_key":"public","tag_value":"yes"}`)
	c := f.request("olga", other.ID, `{"kind":"integration"}`)
	expect(t, f.as("bob", citadel.RoleAuditor, "POST", "/exceptions/"+b.ID+"/approve", ""), http.StatusOK, "", "")

	list := func(query string, limit int) []string {
		t.Helper()
		var ids []string
		for items, err := range citadel.Pages(func(cursor string) (citadel.Page[citadel.Exception], error) {
			v, err := url.ParseQuery(query)
			if err != nil {
				return citadel.Page[citadel.Exception]{}, err
			}
			v.Set("limit", fmt.Sprint(limit))
			if cursor != "" {
				v.Set("cursor", cursor)
			}
			rec := f.as("val", citadel.RoleViewer, "GET", "/exceptions?"+v.Encode(), "")
			expect(t, rec, http.StatusOK, "", "")
			return decodeBody[citadel.Page[citadel.Exception]](t, rec), nil
		}) {
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range items {
				ids = append(ids, e.ID)
			}
		}
		return ids
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{b.ID, a.ID}}, // the default folder's, approved before requested
		{"folder_id=" + testFolder + "&status=requested", []string{a.ID}},
		{"folder_id=folder-2", []string{c.ID}},
		{"integration_id=" + in.ID, []string{b.ID, a.ID}},
		{"integration_id=" + in.ID + "&status=approved", []string{b.ID}},
		{"integration_id=" + other.ID + "&status=rejected", nil},
	} {
		for _, limit := range []int{1, 100} {
			if d := cmp.Diff(tt.want, list(tt.query, limit)); d != "" {
				t.Errorf("%s, limit %d (-want +got):\n%s", tt.query, limit, d)
			}
		}
	}
	first := decodeBody[citadel.Page[citadel.Exception]](t, f.do("GET", "/exceptions?limit=1", ""))
	for _, tt := range []struct {
		name, query string
		status      int
		code, msg   string
	}{
		{"both owners", "?integration_id=" + in.ID + "&folder_id=" + testFolder, 400, "invalid", "give integration_id or folder_id, not both"},
		{"an unknown integration", "?integration_id=int-nope", 404, "not_found", "int-nope"},
		{"an unknown folder", "?folder_id=nope", 404, "not_found", "folder nope not found"},
		{"an unknown status", "?status=paused", 400, "invalid", "status"},
		{"a cursor of another status", "?status=requested&cursor=" + first.Next, 400, "invalid", ddb.BadCursor},
		{"a cursor of the integration's list", "?integration_id=" + in.ID + "&cursor=" + first.Next, 400, "invalid", ddb.BadCursor},
		{"a limit too large", "?limit=1001", 400, "invalid", "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, f.do("GET", "/exceptions"+tt.query, ""), tt.status, tt.code, tt.msg)
		})
	}
	expect(t, f.do("GET", "/exceptions/exc-nope", ""), http.StatusNotFound, "not_found", "exception exc-nope not found")
}

// putRecorder records the events put (scanend.EventPutter).
type putRecorder struct {
	mu      sync.Mutex
	entries []ebtypes.PutEventsRequestEntry
}

func (p *putRecorder) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entries = append(p.entries, in.Entries...)
	return &eventbridge.PutEventsOutput{}, nil
}

// TestDecisionsAnnounced: approve and revoke put Exception Approved and
// Exception Revoked on the bus (the exception sweep's rule routes them to
// it, which re-marks the results without a scan); a rejection puts none.
func TestDecisionsAnnounced(t *testing.T) {
	rec := &putRecorder{}
	f, in, _ := exceptionFixture(t, func(d *Deps) { d.Announce = &scanend.Announcer{Events: rec, Bus: "citadel-bus"} })
	approved := f.request("olga", in.ID, `{"kind":"integration"}`)
	rejected := f.request("olga", in.ID, `{"kind":"integration"}`)
	for _, step := range []struct{ id, action string }{{approved.ID, "approve"}, {rejected.ID, "reject"}, {approved.ID, "revoke"}} {
		expect(t, f.as("bob", citadel.RoleAuditor, "POST", "/exceptions/"+step.id+"/"+step.action, ""), http.StatusOK, "", "")
	}
	var got []string
	for _, e := range rec.entries {
		var d busevents.ExceptionDetail
		if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s/%s %s by %s on %s", aws.ToString(e.Source), aws.ToString(e.DetailType), d.ExceptionID,
			d.IntegrationID, d.CheckID, d.Status, d.By, aws.ToString(e.EventBusName)))
	}
	want := []string{
		fmt.Sprintf("citadel Exception Approved %s %s/s3_bucket_public approved by bob on citadel-bus", approved.ID, in.ID),
		fmt.Sprintf("citadel Exception Revoked %s %s/s3_bucket_public revoked by bob on citadel-bus", approved.ID, in.ID),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}
