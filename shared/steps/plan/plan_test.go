package plan_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/plan"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var (
	created = time.Date(2026, 11, 29, 11, 59, 0, 0, time.UTC)
	now     = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
)

func clock() time.Time { return now }

// catalog: two SOC 2 checks, one CIS only, a deprecated SOC 2 one and one
// that no framework lists.
var catalog = []citadel.SecurityCheck{
	{ID: "s3_bucket_default_encryption", Service: "s3", Severity: citadel.SeverityMedium,
		MappedRequirements: []string{"soc2_aws:cc_6_1", "cis_2.0_aws:2.1.1"}},
	{ID: "iam_root_mfa_enabled", Service: "iam", Severity: citadel.SeverityCritical,
		MappedRequirements: []string{"cis_2.0_aws:1.5"}},
	{ID: "ec2_instance_old_check", Service: "ec2", Severity: citadel.SeverityLow, Deprecated: true,
		MappedRequirements: []string{"soc2_aws:cc_6_6"}},
	{ID: "account_maintain_current_contact_details", Service: "account", Severity: citadel.SeverityLow},
	{ID: "cloudtrail_multi_region_enabled", Service: "cloudtrail", Severity: citadel.SeverityHigh,
		MappedRequirements: []string{"soc2_aws:cc_7_2"}},
}

type env struct {
	store  *ddb.Store
	s3     *s3.Client
	bucket string
	h      *plan.Handler
}

func setup(t *testing.T, checks []citadel.SecurityCheck) env {
	t.Helper()
	cfg := testenv.Config(t)
	store := testenv.Store(t, ddb.WithClock(clock))
	client, bucket := testenv.Bucket(t, cfg)
	if len(checks) > 0 {
		if err := store.PutChecks(context.Background(), checks); err != nil {
			t.Fatal(err)
		}
	}
	return env{store, client, bucket, &plan.Handler{Store: store, S3: client, Bucket: bucket, Env: stepfn.Env{Clock: clock}}}
}

func (e env) integration(t *testing.T, id string, frameworks ...string) citadel.Integration {
	t.Helper()
	// A folder per integration: a folder holds one integration of an account.
	in := citadel.Integration{ID: id, FolderID: "fld-" + id, Name: "prod", AccountID: "111122223333",
		RoleARN: "arn:aws:iam::111122223333:role/CitadelScanner", ExternalID: "ext-123",
		Regions: []string{"us-east-1", "eu-west-1"}, Frameworks: frameworks, CreatedAt: created, UpdatedAt: created}
	if err := e.store.CreateIntegration(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return in
}

func (e env) queue(t *testing.T, integrationID, scanID string) {
	t.Helper()
	err := e.store.StartScan(context.Background(), citadel.Scan{ID: scanID, IntegrationID: integrationID, FolderID: "fld-" + integrationID,
		Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
}

func (e env) object(t *testing.T, key string) (string, bool) {
	t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b), true
}

// units reads unit keys.
func units(t *testing.T, keys ...string) []citadel.ShardUnit {
	t.Helper()
	var out []citadel.ShardUnit
	for _, k := range keys {
		u, err := citadel.ParseShardUnit(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func TestPlan(t *testing.T) {
	cases := []struct {
		name       string
		frameworks []string
		planned    int
		checks     string
		units      []string // the one shard's
		seconds    float64
	}{
		{name: "all mapped checks", planned: 3, checks: `{"aws":["cloudtrail_multi_region_enabled","iam_root_mfa_enabled","s3_bucket_default_encryption"]}`,
			units: []string{"us-east-1/logging", "us-east-1/storage", "eu-west-1/logging", "eu-west-1/storage", "global/identity"}, seconds: 90 + 5*2},
		{name: "narrowed to SOC 2", frameworks: []string{"soc2_aws"}, planned: 2, checks: `{"aws":["cloudtrail_multi_region_enabled","s3_bucket_default_encryption"]}`,
			units: []string{"us-east-1/logging", "us-east-1/storage", "eu-west-1/logging", "eu-west-1/storage"}, seconds: 90 + 4*2},
		{name: "two frameworks", frameworks: []string{"cis_2.0_aws", "soc2_aws"}, planned: 3, checks: `{"aws":["cloudtrail_multi_region_enabled","iam_root_mfa_enabled","s3_bucket_default_encryption"]}`,
			units: []string{"us-east-1/logging", "us-east-1/storage", "eu-west-1/logging", "eu-west-1/storage", "global/identity"}, seconds: 90 + 5*2},
	}
	e := setup(t, catalog)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			integ := e.integration(t, "int-"+string(rune('a'+i)), tc.frameworks...)
			scanID := "scan-" + string(rune('a'+i))
			e.queue(t, integ.ID, scanID)
			in := citadel.PlanInput{Scan: citadel.StartScan{ScanID: scanID, IntegrationID: integ.ID, Trigger: citadel.TriggerAPI}}
			out, err := e.h.Handle(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			want := citadel.PlanOutput{ScanID: scanID, IntegrationID: integ.ID, FolderID: integ.FolderID, AccountID: "111122223333",
				RoleARN: integ.RoleARN, ExternalID: "ext-123", Regions: []string{"us-east-1", "eu-west-1"}, RegionsArg: "us-east-1 eu-west-1",
				Bucket: e.bucket, ChecksKey: "scans/" + scanID + "/checks.json", OCSFKey: "scans/" + scanID + "/prowler.ocsf.json",
				ChecksPlanned: tc.planned, StartedAt: now, ShardsKey: "scans/" + scanID + "/shards.json",
				Shards: []citadel.Shard{{ID: "s01", Regions: []string{"us-east-1", "eu-west-1"}, RegionsArg: "us-east-1 eu-west-1", Units: units(t, tc.units...),
					ChecksKey: "scans/" + scanID + "/shards/s01/checks.json", OCSFKey: "scans/" + scanID + "/shards/s01/prowler.ocsf.json",
					ManifestKey: "scans/" + scanID + "/shards/s01/manifest.json", Checks: tc.planned, EstimatedSeconds: tc.seconds}}}
			if diff := cmp.Diff(want, out, cmpopts.IgnoreFields(citadel.PlanOutput{}, "Usage")); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if out.Usage.Requests == 0 {
				t.Errorf("usage %+v: the step's DynamoDB requests are not counted", out.Usage)
			}
			body, ok := e.object(t, out.ChecksKey)
			if !ok || body != tc.checks {
				t.Errorf("checks file %q (exists %v), want %q", body, ok, tc.checks)
			}
			if body, ok := e.object(t, out.Shards[0].ChecksKey); !ok || body != tc.checks {
				t.Errorf("shard's checks file %q (exists %v), want %q", body, ok, tc.checks)
			}
			var sp citadel.ShardPlan
			if body, ok := e.object(t, out.ShardsKey); !ok || json.Unmarshal([]byte(body), &sp) != nil || sp.ScanID != scanID ||
				len(sp.Shards) != 1 || sp.Shards[0].Shard.ID != "s01" || len(sp.Shards[0].CheckIDs) != tc.planned {
				t.Errorf("shard plan %q (exists %v): want the scan's one shard and its %d checks", body, ok, tc.planned)
			}
			sc, err := e.store.GetScanOf(context.Background(), integ.ID, scanID)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Status != citadel.ScanRunning || !sc.StartedAt.Equal(now) {
				t.Errorf("scan record %s started %s, want running since %s", sc.Status, sc.StartedAt, now)
			}

			// A retry (Step Functions retries at least once) plans the same.
			again, err := e.h.Handle(context.Background(), in)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if diff := cmp.Diff(out, again, cmpopts.IgnoreFields(citadel.PlanOutput{}, "Usage")); diff != "" {
				t.Errorf("retry (-first +retry):\n%s", diff)
			}
		})
	}
}

// TestPlanScheduled: a scheduled start has no scan record yet; plan records
// it and marks it running, and a second scheduled start while it runs is a
// conflict.
func TestPlanScheduled(t *testing.T) {
	e := setup(t, catalog)
	integ := e.integration(t, "int-sched")
	// Scheduler names the execution itself: the state machine passes its ARN.
	exec := "arn:aws:states:us-east-1:123456789012:execution:citadel-scan:0f6c0c3e-run-1"
	in := citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-sched-1", IntegrationID: integ.ID, Trigger: citadel.TriggerSchedule}, ExecutionARN: exec}
	out, err := e.h.Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if out.ChecksPlanned != 3 {
		t.Errorf("planned %d checks, want 3", out.ChecksPlanned)
	}
	sc, err := e.store.GetScanOf(context.Background(), integ.ID, "scan-sched-1")
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.Scan{ID: "scan-sched-1", IntegrationID: integ.ID, FolderID: integ.FolderID, Trigger: citadel.TriggerSchedule,
		Status: citadel.ScanRunning, ExecutionARN: exec, CreatedAt: now, StartedAt: now}
	if diff := cmp.Diff(want, sc); diff != "" {
		t.Errorf("scan record (-want +got):\n%s", diff)
	}
	_, err = e.h.Handle(context.Background(), citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-sched-2", IntegrationID: integ.ID, Trigger: citadel.TriggerSchedule}})
	if !citadel.IsConflict(err) {
		t.Errorf("second scheduled scan while one runs: %v, want conflict", err)
	}
}

// TestPlanBadInput: each failure has a clear code and reason, writes no
// checks file and leaves the scan record as it was.
func TestPlanBadInput(t *testing.T) {
	e := setup(t, catalog)
	integ := e.integration(t, "int-1")
	hipaa := e.integration(t, "int-hipaa", "hipaa_aws")
	e.queue(t, hipaa.ID, "scan-hipaa")
	e.queue(t, integ.ID, "scan-done")
	done, _ := e.store.GetScanOf(context.Background(), integ.ID, "scan-done")
	done.Status, done.FailureCause, done.FinishedAt = citadel.ScanFailed, "earlier", now
	if _, err := e.store.FinishScan(context.Background(), done); err != nil {
		t.Fatal(err)
	}
	empty := setup(t, nil)
	emptyInteg := empty.integration(t, "int-empty")
	empty.queue(t, emptyInteg.ID, "scan-empty")

	cases := []struct {
		name string
		e    env
		scan citadel.StartScan
		code citadel.ErrorCode
		msg  string
	}{
		{name: "unknown integration", e: e, scan: citadel.StartScan{ScanID: "scan-x", IntegrationID: "int-nope", Trigger: citadel.TriggerAPI},
			code: citadel.CodeNotFound, msg: "plan scan scan-x: integration int-nope: integration int-nope not found"},
		{name: "a schedule whose integration is gone", e: e, scan: citadel.StartScan{ScanID: "sched-x", IntegrationID: "int-gone", Trigger: citadel.TriggerSchedule},
			code: citadel.CodeNotFound, msg: "plan scan sched-x: the integration int-gone of this schedule no longer exists; nothing was scanned"},
		{name: "no check in the selected frameworks", e: e, scan: citadel.StartScan{ScanID: "scan-hipaa", IntegrationID: hipaa.ID, Trigger: citadel.TriggerAPI},
			code: citadel.CodeInvalid, msg: "plan scan scan-hipaa: no check maps to the frameworks of integration int-hipaa (hipaa_aws); 3 mapped checks in the catalog"},
		{name: "empty catalog", e: empty, scan: citadel.StartScan{ScanID: "scan-empty", IntegrationID: emptyInteg.ID, Trigger: citadel.TriggerAPI},
			code: citadel.CodeInvalid, msg: "plan scan scan-empty: the catalog has no mapped checks; import the catalog first"},
		{name: "API scan without its record", e: e, scan: citadel.StartScan{ScanID: "scan-ghost", IntegrationID: integ.ID, Trigger: citadel.TriggerAPI},
			code: citadel.CodeNotFound, msg: "plan scan scan-ghost: no scan record for integration int-1 (the API records a scan before it starts it)"},
		{name: "finished scan", e: e, scan: citadel.StartScan{ScanID: "scan-done", IntegrationID: integ.ID, Trigger: citadel.TriggerAPI},
			code: citadel.CodeConflict, msg: "plan scan scan-done: the scan is already failed"},
		{name: "bad scan id", e: e, scan: citadel.StartScan{ScanID: "scan/../x", IntegrationID: integ.ID, Trigger: citadel.TriggerAPI},
			code: citadel.CodeInvalid, msg: `plan: scan_id "scan/../x" is not a scan id`},
		{name: "no integration id", e: e, scan: citadel.StartScan{ScanID: "scan-y", Trigger: citadel.TriggerAPI},
			code: citadel.CodeInvalid, msg: `plan: integration_id "" is not an integration id`},
		{name: "bad trigger", e: e, scan: citadel.StartScan{ScanID: "scan-y", IntegrationID: integ.ID, Trigger: "cron"},
			code: citadel.CodeInvalid, msg: `plan: trigger "cron" must be api, schedule, organization or change`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := tc.e.store.GetScanOf(context.Background(), tc.scan.IntegrationID, tc.scan.ScanID)
			_, err := tc.e.h.Handle(context.Background(), citadel.PlanInput{Scan: tc.scan})
			if err == nil {
				t.Fatal("plan succeeded")
			}
			if citadel.CodeOf(err) != tc.code || err.Error() != tc.msg {
				t.Errorf("error %s %q\nwant  %s %q", citadel.CodeOf(err), err, tc.code, tc.msg)
			}
			if body, ok := tc.e.object(t, citadel.ScanObjectKey(tc.scan.ScanID, citadel.ChecksFileName)); ok {
				t.Errorf("checks file written on failure: %s", body)
			}
			after, _ := tc.e.store.GetScanOf(context.Background(), tc.scan.IntegrationID, tc.scan.ScanID)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("scan record changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	cases := []struct {
		name       string
		frameworks []string
		want       []string
	}{
		{name: "no frameworks: every mapped, live check", want: []string{"cloudtrail_multi_region_enabled", "iam_root_mfa_enabled", "s3_bucket_default_encryption"}},
		{name: "one framework", frameworks: []string{"cis_2.0_aws"}, want: []string{"iam_root_mfa_enabled", "s3_bucket_default_encryption"}},
		{name: "deprecated only", frameworks: []string{"none"}, want: nil},
		{name: "a framework id is not a prefix match", frameworks: []string{"soc2"}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, plan.Select(catalog, tc.frameworks)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
