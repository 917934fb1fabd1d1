package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	sched "github.com/citadelsecure/citadel/shared/scheduler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestCreateIntegrationStoresItAndItsSchedule(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	rec := f.do("POST", "/integrations", validIntegration)
	expect(t, rec, http.StatusCreated, "", "")
	if loc := rec.Header().Get("Location"); loc != "/integrations/int-0001" {
		t.Errorf("Location %q", loc)
	}
	golden(t, "integration_created", rec.Body.Bytes())

	got, err := f.store.GetIntegration(context.Background(), "int-0001")
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.Integration{ID: "int-0001", FolderID: testFolder, Name: "prod", AccountID: "123456789012",
		RoleARN: "arn:aws:iam::123456789012:role/CitadelScanner", ExternalID: "ext-123", Regions: []string{"us-east-1", "eu-west-1"},
		Frameworks: []string{"cis_2.0"}, ScheduleExpression: "rate(1 day)", CreatedAt: t0, UpdatedAt: t0}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stored integration (-want +got):\n%s", d)
	}

	s, err := f.schedules.Get(context.Background(), "int-0001")
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(s.ScheduleExpression) != "rate(1 day)" || aws.ToString(s.GroupName) != f.group {
		t.Errorf("schedule %q in group %q", aws.ToString(s.ScheduleExpression), aws.ToString(s.GroupName))
	}
	if aws.ToString(s.Target.Arn) != f.smARN || aws.ToString(s.Target.RoleArn) != f.schedules.RoleARN {
		t.Errorf("schedule target %s with role %s", aws.ToString(s.Target.Arn), aws.ToString(s.Target.RoleArn))
	}
	wantInput := `{"scan":{"scan_id":"sched-<aws.scheduler.execution-id>","integration_id":"int-0001","trigger":"schedule"}}`
	if got := aws.ToString(s.Target.Input); got != wantInput {
		t.Errorf("schedule input\n got %s\nwant %s", got, wantInput)
	}

	// Without a schedule expression there is no schedule.
	f.createFolders("folder-2")
	plain := f.createIntegration(`{"name":"dev","account_id":"210987654321","frameworks":["cis_2.0"],"folder_id":"folder-2"}`)
	if plain.FolderID != "folder-2" {
		t.Errorf("folder_id %q, want folder-2", plain.FolderID)
	}
	if _, err := f.schedules.Get(context.Background(), plain.ID); !citadel.IsNotFound(err) {
		t.Errorf("schedule of an integration without expression: %v, want not found", err)
	}
}

func TestCreateIntegrationRejectsBadRequests(t *testing.T) {
	f := newFixture(t)
	big := `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `","account_id":"123456789012","frameworks":["cis_2.0"]}`
	for _, tc := range []struct {
		name, body, ctype string
		status            int
		code, reason      string
	}{
		{"malformed JSON", `{"name":"prod",`, "", 400, "invalid", "request body"},
		{"not an object", `[1,2]`, "", 400, "invalid", "request body"},
		{"empty body", ``, "", 400, "invalid", "a JSON body is required"},
		{"unknown field", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"colour":"red"}`, "", 400, "invalid", `"colour"`},
		{"missing name", `{"account_id":"123456789012","frameworks":["cis_2.0"]}`, "", 400, "invalid", `"name"`},
		{"missing account id", `{"name":"prod"}`, "", 400, "invalid", `"account_id"`},
		{"short account id", `{"name":"prod","account_id":"12345"}`, "", 400, "invalid", "account_id"},
		{"account id not a string", `{"name":"prod","account_id":123456789012}`, "", 400, "invalid", "account_id"},
		{"bad role ARN", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"role_arn":"arn:aws:iam::123:user/bob"}`, "", 400, "invalid", "not an IAM role ARN"},
		{"role in another account", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"role_arn":"arn:aws:iam::210987654321:role/x"}`, "", 400, "invalid", "not in the integration's account"},
		{"bad external id", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"role_arn":"arn:aws:iam::123456789012:role/x","external_id":"a b"}`, "", 400, "invalid", "external_id"},
		{"bad schedule", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"schedule_expression":"every day"}`, "", 400, "invalid", "schedule_expression"},
		{"bad cron", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"schedule_expression":"cron(0 12 * *)"}`, "", 400, "invalid", "schedule_expression"},
		{"bad region", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"regions":["mars-1"]}`, "", 400, "invalid", "regions.0"},
		{"repeated region", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"regions":["us-east-1","us-east-1"]}`, "", 400, "invalid", "must not repeat"},
		{"bad framework", `{"name":"prod","account_id":"123456789012","frameworks":["CIS 2"]}`, "", 400, "invalid", "framework"},
		{"no frameworks", `{"name":"prod","account_id":"123456789012"}`, "", 400, "invalid", "GET /catalog lists them"},
		{"empty frameworks", `{"name":"prod","account_id":"123456789012","frameworks":[]}`, "", 400, "invalid", "GET /catalog lists them"},
		{"region AWS lacks", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"regions":["us-east-1","us-east-9"]}`, "", 400, "invalid", `region "us-east-9" is not an AWS region name`},
		{"China region, commercial role", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"role_arn":"arn:aws:iam::123456789012:role/x","regions":["cn-north-1"]}`, "", 400, "invalid",
			"role_arn is in partition aws, but region cn-north-1 is in partition aws-cn"},
		{"bad folder id", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"folder_id":"a/b"}`, "", 400, "invalid", "folder_id"},
		{"text body", `name=prod`, "text/plain", 415, "unsupported_media_type", "application/json"},
		{"too large", big, "", 413, "too_large", "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec = f.do("POST", "/integrations", tc.body)
			if tc.ctype != "" {
				rec = f.do("POST", "/integrations", tc.body, "Content-Type", tc.ctype)
			}
			expect(t, rec, tc.status, tc.code, tc.reason)
		})
	}
	// Nothing was stored, and no schedule made.
	page, err := f.store.ListIntegrations(context.Background(), testFolder, 10, "")
	if err != nil || len(page.Items) != 0 {
		t.Errorf("after bad requests: %d integrations stored (%v)", len(page.Items), err)
	}
}

// An integration's frameworks must be ids of the imported catalog: the
// refusal names the unknown ids and lists the valid ones (sorted); before
// any import it says the catalog is not loaded. A refused create stores
// nothing, a refused update changes nothing, and neither touches a schedule.
func TestIntegrationFrameworksMustBeInTheCatalog(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	withFrameworks := func(fws string) string {
		return `{"name":"prod","account_id":"210987654321","schedule_expression":"rate(1 day)","frameworks":` + fws + `}`
	}
	notLoaded := "frameworks soc2 cannot be checked: the catalog is not loaded yet"
	expect(t, f.do("POST", "/integrations", withFrameworks(`["soc2"]`)), http.StatusBadRequest, "invalid", notLoaded)
	// One stored before any import (the API refuses one without frameworks).
	plain := citadel.Integration{ID: "int-plain", FolderID: testFolder, Name: "plain", AccountID: "123456789012", CreatedAt: t0, UpdatedAt: t0}
	if err := f.store.CreateIntegration(ctx, plain); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("PATCH", "/integrations/"+plain.ID, `{"frameworks":["soc2"]}`), http.StatusBadRequest, "invalid", notLoaded)

	f.putFrameworks("soc2", "pci_4.0", "iso27001_2022", "cis_2.0")
	valid := "valid framework ids: cis_2.0, iso27001_2022, pci_4.0, soc2"
	// An update may not empty them: no frameworks would mean every mapped
	// check of every framework.
	expect(t, f.do("PATCH", "/integrations/"+plain.ID, `{"frameworks":[]}`), http.StatusBadRequest, "invalid",
		`field "frameworks": minimum number of items is 1; name at least one framework id of the loaded catalog (GET /catalog lists them)`)
	for _, tc := range []struct {
		name, fws, unknown string
	}{
		{"underscored SOC 2", `["soc_2"]`, "soc_2"},
		{"the file name's _aws suffix", `["soc2","pci_4.0_aws"]`, "pci_4.0_aws"},
		{"several, each named once", `["hipaa","soc2","soc_2","hipaa"]`, "hipaa, soc_2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := "unknown framework ids " + tc.unknown + " (not in the imported catalog); " + valid
			expect(t, f.do("POST", "/integrations", withFrameworks(tc.fws)), http.StatusBadRequest, "invalid", want)
			expect(t, f.do("PATCH", "/integrations/"+plain.ID, `{"frameworks":`+tc.fws+`}`), http.StatusBadRequest, "invalid", want)
		})
	}
	page, err := f.store.ListIntegrations(ctx, testFolder, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.Integration{plain}, page.Items, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("after refused requests (-want +got):\n%s", d)
	}
	scheds, err := f.sched.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String(f.group)})
	if err != nil {
		t.Fatal(err)
	}
	if len(scheds.Schedules) != 0 {
		t.Errorf("refused creates made %d schedules", len(scheds.Schedules))
	}

	// Known ids are accepted, on create and on update.
	in := f.createIntegration(withFrameworks(`["soc2","pci_4.0"]`))
	if d := cmp.Diff([]string{"soc2", "pci_4.0"}, in.Frameworks); d != "" {
		t.Errorf("created frameworks (-want +got):\n%s", d)
	}
	rec := f.do("PATCH", "/integrations/"+plain.ID, `{"frameworks":["iso27001_2022"]}`)
	expect(t, rec, http.StatusOK, "", "")
	if got := decodeBody[citadel.Integration](t, rec).Frameworks; !cmp.Equal(got, []string{"iso27001_2022"}) {
		t.Errorf("patched frameworks %v", got)
	}
	// An update that leaves frameworks alone does not re-check them, so a
	// framework a later catalog lacks does not block renaming.
	stale := plain
	stale.Frameworks = []string{"retired_1.0"}
	if err := f.store.UpdateIntegration(ctx, stale); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("PATCH", "/integrations/"+plain.ID, `{"name":"renamed"}`), http.StatusOK, "", "")
	expect(t, f.do("PATCH", "/integrations/"+plain.ID, `{"frameworks":["retired_1.0","soc2"]}`), http.StatusBadRequest, "invalid",
		"unknown framework ids retired_1.0 (not in the imported catalog)")
}

func TestCreateIntegrationWithoutFolder(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.DefaultFolder = "" })
	f.putFrameworks("cis_2.0")
	rec := f.do("POST", "/integrations", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	expect(t, rec, http.StatusBadRequest, "invalid", "folder_id is required")
	expect(t, f.do("GET", "/integrations", ""), http.StatusBadRequest, "invalid", "folder_id is required")
	expect(t, f.do("POST", "/folders", `{"id":"f9","name":"F9"}`), http.StatusCreated, "", "")
	f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"folder_id":"f9"}`)
	page := decodeBody[citadel.Page[citadel.Integration]](t, f.do("GET", "/integrations?folder_id=f9", ""))
	if len(page.Items) != 1 {
		t.Errorf("folder f9 has %d integrations, want 1", len(page.Items))
	}
}

func TestGetAndListIntegrations(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	var ids []string
	for i := range 3 {
		in := f.createIntegration(fmt.Sprintf(`{"name":"acct-%d","account_id":"12345678901%d","frameworks":["cis_2.0"]}`, i, i))
		ids = append(ids, in.ID)
	}
	f.createFolders("folder-2", "empty")
	f.createIntegration(`{"name":"other","account_id":"123456789019","frameworks":["cis_2.0"],"folder_id":"folder-2"}`)

	got := decodeBody[citadel.Integration](t, f.do("GET", "/integrations/"+ids[1], ""))
	if got.Name != "acct-1" || got.AccountID != "123456789011" {
		t.Errorf("got %+v", got)
	}
	expect(t, f.do("GET", "/integrations/int-nope", ""), http.StatusNotFound, "not_found", "int-nope")
	expect(t, f.do("GET", "/integrations/bad%20id", ""), http.StatusBadRequest, "invalid", `parameter "id"`)

	// Pages of two, to the end.
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		path := "/integrations?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		rec := f.do("GET", path, "")
		expect(t, rec, http.StatusOK, "", "")
		page := decodeBody[citadel.Page[citadel.Integration]](t, rec)
		for _, in := range page.Items {
			seen = append(seen, in.ID)
		}
		if page.Next == "" {
			break
		}
		if pages > 3 {
			t.Fatal("pagination does not end")
		}
		cursor = page.Next
	}
	if d := cmp.Diff(ids, seen); d != "" {
		t.Errorf("listed ids (-want +got):\n%s", d)
	}
	// An empty list is [], never null.
	if body := f.do("GET", "/integrations?folder_id=empty", "").Body.String(); !strings.Contains(body, `"items":[]`) {
		t.Errorf("empty list: %s", body)
	}
	for _, tc := range []struct{ query, reason string }{
		{"limit=0", `"limit"`},
		{"limit=1001", `"limit"`},
		{"limit=abc", `"limit"`},
		{"limit=-1", `"limit"`},
		{"cursor=!!!", "cursor"},
		{"cursor=bm90LWpzb24", "cursor"},
		{"folder_id=a%2Fb", `"folder_id"`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			expect(t, f.do("GET", "/integrations?"+tc.query, ""), http.StatusBadRequest, "invalid", tc.reason)
		})
	}
}

func TestUpdateIntegrationChangesItsSchedule(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	if _, err := f.schedules.Get(ctx, in.ID); !citadel.IsNotFound(err) {
		t.Fatalf("schedule before: %v", err)
	}
	// Adding an expression creates the schedule.
	rec := f.do("PATCH", "/integrations/"+in.ID, `{"schedule_expression":"cron(0 3 * * ? *)","name":"production"}`)
	expect(t, rec, http.StatusOK, "", "")
	got := decodeBody[citadel.Integration](t, rec)
	if got.Name != "production" || got.ScheduleExpression != "cron(0 3 * * ? *)" || got.AccountID != in.AccountID {
		t.Errorf("patched: %+v", got)
	}
	s, err := f.schedules.Get(ctx, in.ID)
	if err != nil || aws.ToString(s.ScheduleExpression) != "cron(0 3 * * ? *)" {
		t.Fatalf("schedule after create: %v %v", s, err)
	}
	// Changing it updates the schedule.
	expect(t, f.do("PATCH", "/integrations/"+in.ID, `{"schedule_expression":"rate(12 hours)"}`), http.StatusOK, "", "")
	if s, err = f.schedules.Get(ctx, in.ID); err != nil || aws.ToString(s.ScheduleExpression) != "rate(12 hours)" {
		t.Fatalf("schedule after update: %v %v", aws.ToString(s.ScheduleExpression), err)
	}
	// Other fields keep it.
	expect(t, f.do("PATCH", "/integrations/"+in.ID, `{"regions":["eu-west-1"]}`), http.StatusOK, "", "")
	if s, err = f.schedules.Get(ctx, in.ID); err != nil || aws.ToString(s.ScheduleExpression) != "rate(12 hours)" {
		t.Fatalf("schedule after region change: %v", err)
	}
	// An empty expression deletes it.
	expect(t, f.do("PATCH", "/integrations/"+in.ID, `{"schedule_expression":""}`), http.StatusOK, "", "")
	if _, err := f.schedules.Get(ctx, in.ID); !citadel.IsNotFound(err) {
		t.Errorf("schedule after removal: %v, want not found", err)
	}

	for _, tc := range []struct {
		name, id, body string
		status         int
		code, reason   string
	}{
		{"unknown id", "int-nope", `{"name":"x"}`, 404, "not_found", "int-nope"},
		{"empty patch", in.ID, `{}`, 400, "invalid", "request body"},
		{"account cannot change", in.ID, `{"account_id":"210987654321"}`, 400, "invalid", `"account_id"`},
		{"folder cannot change", in.ID, `{"folder_id":"f2"}`, 400, "invalid", `"folder_id"`},
		{"bad role", in.ID, `{"role_arn":"arn:aws:iam::210987654321:role/x"}`, 400, "invalid", "role_arn"},
		{"bad schedule", in.ID, `{"schedule_expression":"rate(1 fortnight)"}`, 400, "invalid", "schedule_expression"},
		{"empty name", in.ID, `{"name":""}`, 400, "invalid", `"name"`},
		{"malformed", in.ID, `{"name":`, 400, "invalid", "request body"},
		{"null name", in.ID, `{"name":null}`, 400, "invalid", `"name"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do("PATCH", "/integrations/"+tc.id, tc.body), tc.status, tc.code, tc.reason)
		})
	}
	stored, _ := f.store.GetIntegration(ctx, in.ID)
	if stored.AccountID != in.AccountID || stored.Name != "production" || stored.RoleARN != "" {
		t.Errorf("a refused patch changed the record: %+v", stored)
	}
}

func TestDeleteIntegrationDeletesItsSchedule(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(validIntegration)
	if _, err := f.schedules.Get(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("DELETE", "/integrations/"+in.ID, ""), http.StatusNoContent, "", "")
	if _, err := f.schedules.Get(ctx, in.ID); !citadel.IsNotFound(err) {
		t.Errorf("schedule after delete: %v, want not found", err)
	}
	expect(t, f.do("GET", "/integrations/"+in.ID, ""), http.StatusNotFound, "not_found", in.ID)
	// Deleting again is harmless (it redoes what a failed delete left).
	expect(t, f.do("DELETE", "/integrations/"+in.ID, ""), http.StatusNoContent, "", "")
}

func TestStartScanStartsTheStateMachine(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(validIntegration)

	rec := f.do("POST", "/integrations/"+in.ID+"/scans", "")
	expect(t, rec, http.StatusAccepted, "", "")
	sc := decodeBody[citadel.Scan](t, rec)
	if sc.ID != "scan-0001" || sc.Status != citadel.ScanRunning || sc.Trigger != citadel.TriggerAPI || sc.ExecutionARN == "" {
		t.Errorf("started scan: %+v", sc)
	}
	if loc := rec.Header().Get("Location"); loc != "/scans/"+sc.ID {
		t.Errorf("Location %q", loc)
	}
	// The execution exists, named after the scan, with the scan as input.
	ex, err := f.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(sc.ExecutionARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(ex.Name) != sc.ID || aws.ToString(ex.StateMachineArn) != f.smARN {
		t.Errorf("execution %s of %s", aws.ToString(ex.Name), aws.ToString(ex.StateMachineArn))
	}
	var input citadel.PlanInput
	if err := json.Unmarshal([]byte(aws.ToString(ex.Input)), &input); err != nil {
		t.Fatal(err)
	}
	want := citadel.PlanInput{Scan: citadel.StartScan{ScanID: sc.ID, IntegrationID: in.ID, Trigger: citadel.TriggerAPI}}
	if d := cmp.Diff(want, input); d != "" {
		t.Errorf("execution input (-want +got):\n%s", d)
	}
	stored, err := f.store.GetScan(ctx, sc.ID)
	if err != nil || stored.ExecutionARN != sc.ExecutionARN || stored.Status != citadel.ScanRunning {
		t.Errorf("stored scan %+v (%v)", stored, err)
	}

	// A second scan while this one runs is a conflict naming it.
	expect(t, f.do("POST", "/integrations/"+in.ID+"/scans", ""), http.StatusConflict, "conflict", sc.ID)
	// Once it finished, another may start.
	done := stored
	done.Status, done.FinishedAt = citadel.ScanSucceeded, t0
	done.Summary = &citadel.ScanSummary{Success: true, Message: "Scan complete: 2 issues found", ChecksExecuted: 10, ChecksPassed: 8, ChecksFailed: 2, DurationSeconds: 42.5}
	if _, err := f.store.FinishScan(ctx, done); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("POST", "/integrations/"+in.ID+"/scans", ""), http.StatusAccepted, "", "")

	// The finished scan with its summary.
	rec = f.do("GET", "/scans/"+sc.ID, "")
	expect(t, rec, http.StatusOK, "", "")
	golden(t, "scan_succeeded", rec.Body.Bytes(), sc.ExecutionARN, "<execution-arn>")

	// Newest first.
	page := decodeBody[citadel.Page[citadel.Scan]](t, f.do("GET", "/integrations/"+in.ID+"/scans", ""))
	var ids []string
	for _, s := range page.Items {
		ids = append(ids, s.ID)
	}
	if d := cmp.Diff([]string{"scan-0003", "scan-0001"} /* scan-0002 was the refused one */, ids); d != "" {
		t.Errorf("scans (-want +got):\n%s", d)
	}
	page = decodeBody[citadel.Page[citadel.Scan]](t, f.do("GET", "/integrations/"+in.ID+"/scans?limit=1", ""))
	if len(page.Items) != 1 || page.Next == "" {
		t.Errorf("first page of one: %d items, next %q", len(page.Items), page.Next)
	}

	for _, tc := range []struct {
		method, path, body string
		status             int
		code, reason       string
	}{
		{"POST", "/integrations/int-nope/scans", "", 404, "not_found", "int-nope"},
		{"POST", "/integrations/" + in.ID + "/scans", `{"force":true}`, 400, "invalid", "request body not allowed"},
		{"GET", "/integrations/int-nope/scans", "", 404, "not_found", "int-nope"},
		{"GET", "/integrations/" + in.ID + "/scans?cursor=xyz", "", 400, "invalid", "cursor"},
		{"GET", "/integrations/" + in.ID + "/scans?limit=x", "", 400, "invalid", "limit"},
		{"GET", "/scans/scan-nope", "", 404, "not_found", "scan-nope"},
		{"GET", "/scans/a:b", "", 400, "invalid", `"id"`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			expect(t, f.do(tc.method, tc.path, tc.body), tc.status, tc.code, tc.reason)
		})
	}
}

func TestStartScanFailureMarksTheScanFailedAndReleasesTheLock(t *testing.T) {
	var missing string
	f := newFixture(t, func(d *Deps) {
		missing = strings.Replace(d.StateMachineARN, ":stateMachine:", ":stateMachine:missing-", 1)
		d.StateMachineARN = missing
	})
	ctx := context.Background()
	f.putFrameworks("cis_2.0")
	in := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	for _, id := range []string{"scan-0001", "scan-0002"} {
		// 500 (the state machine is ours, not the caller's), never a 409 on the retry.
		expect(t, f.do("POST", "/integrations/"+in.ID+"/scans", ""), http.StatusInternalServerError, "internal", "internal error")
		sc, err := f.store.GetScan(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Status != citadel.ScanFailed || !strings.Contains(sc.FailureCause, "could not start") || sc.FinishedAt.IsZero() {
			t.Errorf("scan %s after a failed start: %+v", id, sc)
		}
	}
	if _, err := f.store.RunningScan(ctx, in.ID); !citadel.IsNotFound(err) {
		t.Errorf("lock after failed starts: %v, want released", err)
	}
}

func TestMethodsAndRoutes(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"DELETE", "/scans/scan-1", 405, "method_not_allowed", "GET"},
		{"PUT", "/integrations", 405, "method_not_allowed", "POST"},
		{"POST", "/frameworks", 405, "method_not_allowed", "GET"},
		{"GET", "/requirement-assessments/ra-1", 405, "method_not_allowed", "PUT"},
		{"GET", "/nope", 404, "not_found", ""},
		{"GET", "/integrations/int-1/nope", 404, "not_found", ""},
		{"GET", "/", 404, "not_found", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := f.do(tc.method, tc.path, "")
			expect(t, rec, tc.status, tc.code, "")
			if tc.allow != "" && !strings.Contains(rec.Header().Get("Allow"), tc.allow) {
				t.Errorf("Allow %q, want %s", rec.Header().Get("Allow"), tc.allow)
			}
		})
	}
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	_, err := New(context.Background(), Deps{Integrations: nil})
	if err == nil || !strings.Contains(err.Error(), "Executions") || !strings.Contains(err.Error(), "StateMachineARN") {
		t.Errorf("New without deps: %v", err)
	}
}

func TestScheduleInputIsTheStartScanPayload(t *testing.T) {
	var in citadel.PlanInput
	if err := json.Unmarshal([]byte(sched.Input("int-7")), &in); err != nil {
		t.Fatal(err)
	}
	want := citadel.PlanInput{Scan: citadel.StartScan{ScanID: "sched-<aws.scheduler.execution-id>", IntegrationID: "int-7", Trigger: citadel.TriggerSchedule}}
	if d := cmp.Diff(want, in); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestScheduleFailureUndoesTheIntegrationChange points the schedules at a
// Scheduler endpoint that does not answer: every integration change that
// needs its schedule fails as a whole, leaving the record as it was.
func TestScheduleFailureUndoesTheIntegrationChange(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(`{"name":"prod","account_id":"210987654321","frameworks":["cis_2.0"]}`)

	d := f.srv.Deps
	down := scheduler.NewFromConfig(testenv.Config(t), func(o *scheduler.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1") // nothing listens there
		o.RetryMaxAttempts = 1
	})
	d.Schedules = &sched.Schedules{API: down, Group: f.group, RoleARN: f.schedules.RoleARN, StateMachineARN: f.smARN}
	broken, err := New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = broken

	expect(t, f.do("POST", "/integrations", validIntegration), http.StatusInternalServerError, "internal", "internal error")
	if page, err := f.store.ListIntegrations(ctx, testFolder, 10, ""); err != nil || len(page.Items) != 1 {
		t.Errorf("integration created without its schedule: %d integrations (%v)", len(page.Items), err)
	}
	expect(t, f.do("PATCH", "/integrations/"+in.ID, `{"name":"renamed","schedule_expression":"rate(1 day)"}`), http.StatusInternalServerError, "internal", "")
	expect(t, f.do("PATCH", "/integrations/"+in.ID, `{"name":"renamed"}`), http.StatusInternalServerError, "internal", "")
	expect(t, f.do("DELETE", "/integrations/"+in.ID, ""), http.StatusInternalServerError, "internal", "")
	got, err := f.store.GetIntegration(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("integration after failed changes (-want +got):\n%s", d)
	}
	if !strings.Contains(f.logs.String(), "127.0.0.1:1") {
		t.Errorf("the scheduler failure is not logged")
	}
}

// An integration may pin its scans to some checks (as the demo does): ids of
// the imported catalog, on create and on update; unknown ids are refused,
// each named once, and a refusal stores nothing.
func TestIntegrationPinnedChecks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// The framework alone, no catalog version: an import that stopped
	// before writing it, so the checks cannot be checked.
	if err := f.store.PutFrameworks(ctx, []citadel.Framework{{ID: "cis_2.0", Name: "cis_2.0", Source: "prowler", RequirementCount: 1}}); err != nil {
		t.Fatal(err)
	}
	body := func(checks string) string {
		return `{"name":"pinned","account_id":"123456789012","frameworks":["cis_2.0"],"checks":` + checks + `}`
	}
	expect(t, f.do("POST", "/integrations", body(`["s3_bucket_object_versioning"]`)), http.StatusBadRequest, "invalid",
		"checks s3_bucket_object_versioning cannot be checked: the catalog is not loaded yet")

	if err := f.store.PutChecks(ctx, []citadel.SecurityCheck{
		{ID: "s3_bucket_object_versioning", Title: "versioning", Service: "s3", Severity: citadel.SeverityMedium},
		{ID: "iam_root_mfa_enabled", Title: "root MFA", Service: "iam", Severity: citadel.SeverityCritical},
	}); err != nil {
		t.Fatal(err)
	}
	// An import writes the catalog's version with its checks.
	if err := f.store.PutCatalogVersion(ctx, citadel.CatalogVersion{ProwlerVersion: "5.40.0", ImportedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, checks, want string }{
		{"one unknown", `["s3_bucket_object_versioning","s3_bucket_versioning"]`, "unknown check ids s3_bucket_versioning (not in the imported catalog)"},
		{"several", `["ec2_x","iam_y"]`, "unknown check ids ec2_x, iam_y"},
		{"not an id", `["s3 bucket"]`, `field "checks.0": string doesn't match the regular expression`},
		{"repeated", `["iam_root_mfa_enabled","iam_root_mfa_enabled"]`, "checks must not repeat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do("POST", "/integrations", body(tc.checks)), http.StatusBadRequest, "invalid", tc.want)
		})
	}
	page, err := f.store.ListIntegrations(ctx, testFolder, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Fatalf("refused creates stored %d integrations", len(page.Items))
	}

	in := f.createIntegration(body(`["s3_bucket_object_versioning"]`))
	if d := cmp.Diff([]string{"s3_bucket_object_versioning"}, in.Checks); d != "" {
		t.Errorf("created checks (-want +got):\n%s", d)
	}
	stored, err := f.store.GetIntegration(ctx, in.ID)
	if err != nil || !cmp.Equal(stored.Checks, in.Checks) {
		t.Errorf("stored checks %v (%v)", stored.Checks, err)
	}
	expect(t, f.do("PATCH", "/integrations/"+in.ID, `{"checks":["nope_check"]}`), http.StatusBadRequest, "invalid", "unknown check ids nope_check")
	rec := f.do("PATCH", "/integrations/"+in.ID, `{"checks":["iam_root_mfa_enabled","s3_bucket_object_versioning"]}`)
	expect(t, rec, http.StatusOK, "", "")
	if got := decodeBody[citadel.Integration](t, rec).Checks; !cmp.Equal(got, []string{"iam_root_mfa_enabled", "s3_bucket_object_versioning"}) {
		t.Errorf("patched checks %v", got)
	}
	// An empty list unpins: every check the frameworks map again.
	rec = f.do("PATCH", "/integrations/"+in.ID, `{"checks":[]}`)
	expect(t, rec, http.StatusOK, "", "")
	if got := decodeBody[citadel.Integration](t, rec).Checks; len(got) != 0 {
		t.Errorf("unpinned checks %v", got)
	}
}

// One integration per account and folder: a second create is a 409 naming
// the first; the account in another folder is fine.
func TestIntegrationAccountOncePerFolder(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	first := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	expect(t, f.do("POST", "/integrations", `{"name":"prod again","account_id":"123456789012","frameworks":["cis_2.0"]}`), http.StatusConflict, "conflict",
		"account 123456789012 already has integration "+first.ID+" in folder "+testFolder)
	f.createFolders("folder-2")
	f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"folder_id":"folder-2"}`)
	expect(t, f.do("DELETE", "/integrations/"+first.ID, ""), http.StatusNoContent, "", "")
	f.createIntegration(`{"name":"prod, re-added","account_id":"123456789012","frameworks":["cis_2.0"]}`)
}

// A schedule runs at most as often as the deployment allows (an hour by
// default), on create and on update; nothing is stored or scheduled when
// it is refused.
func TestIntegrationScheduleAtMostHourly(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	body := func(expr string) string {
		return `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"schedule_expression":"` + expr + `"}`
	}
	expect(t, f.do("POST", "/integrations", body("rate(15 minutes)")), http.StatusBadRequest, "invalid",
		`schedule_expression "rate(15 minutes)" runs every 15m0s; this deployment scans an integration at most every 1h0m0s`)
	expect(t, f.do("POST", "/integrations", body("cron(0,30 * * * ? *)")), http.StatusBadRequest, "invalid", "runs every 30m0s")
	in := f.createIntegration(body("cron(5 * * * ? *)"))
	expect(t, f.do("PATCH", "/integrations/"+in.ID, `{"schedule_expression":"rate(59 minutes)"}`), http.StatusBadRequest, "invalid", "runs every 59m0s")
	if got, err := f.store.GetIntegration(context.Background(), in.ID); err != nil || got.ScheduleExpression != "cron(5 * * * ? *)" {
		t.Errorf("after a refused update: %q (%v)", got.ScheduleExpression, err)
	}

	daily := newFixture(t, func(d *Deps) { d.MinScheduleInterval = 24 * time.Hour })
	daily.putFrameworks("cis_2.0")
	expect(t, daily.do("POST", "/integrations", body("rate(12 hours)")), http.StatusBadRequest, "invalid", "at most every 24h0m0s")
	daily.createIntegration(body("cron(0 3 * * ? *)"))
}
