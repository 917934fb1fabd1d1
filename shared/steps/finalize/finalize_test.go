package finalize_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestFailureCause(t *testing.T) {
	ran := citadel.Usage{Requests: 3}
	plan := citadel.PlanOutput{ScanID: "s1", IntegrationID: "i1"}
	assets := citadel.AssetSyncOutput{Usage: ran}
	results := citadel.CheckResultsOutput{Usage: ran}
	sdk := "controls scan s1: dynamodb put control c1: operation error DynamoDB: PutItem, https response error StatusCode: 400, " +
		"RequestID: 7Q4J0ABCDEF, api error ValidationException: arn:aws:dynamodb:us-east-1:123456789012:table/citadel bad"
	done := func(step string) citadel.StepProgress {
		return citadel.StepProgress{Step: step, Status: citadel.StepSucceeded}
	}
	fin := citadel.StepProgress{Step: citadel.StepFinalize, Status: citadel.StepRunning}
	local := &citadel.StepError{Error: "wrapError", Cause: "check-results scan s1: the OCSF file is truncated at byte 120"}
	tests := []struct {
		name  string
		in    citadel.FinalizeInput
		want  string
		steps []citadel.StepProgress // recorded by the step contract
	}{
		{"recorded: the step that failed", citadel.FinalizeInput{Plan: plan, Assets: assets, Error: local},
			"the check-results step failed: wrapError: check-results scan s1: the OCSF file is truncated at byte 120",
			[]citadel.StepProgress{done(citadel.StepPlan), done(citadel.StepAssetSync), {Step: citadel.StepCheckResults, Status: citadel.StepFailed}, fin}},
		{"recorded: after asset sync, nothing failed: the Prowler task", citadel.FinalizeInput{Plan: plan, Assets: assets,
			Error: &citadel.StepError{Error: "States.Timeout"}}, "the prowler step failed: the step ran past its timeout",
			[]citadel.StepProgress{done(citadel.StepPlan), done(citadel.StepAssetSync), fin}},
		{"recorded: only finalize", citadel.FinalizeInput{Error: &citadel.StepError{Error: "States.Runtime"}},
			"the plan step failed: the state machine could not run the step", []citadel.StepProgress{fin}},
		{"plan: domain error", citadel.FinalizeInput{Error: &citadel.StepError{Error: "Error",
			Cause: `{"errorMessage":"plan scan s1: the catalog has no mapped checks; import the catalog first","errorType":"Error"}`}},
			"the plan step failed: plan scan s1: the catalog has no mapped checks; import the catalog first", nil},
		{"asset-sync: retries exhausted", citadel.FinalizeInput{Plan: plan, Error: &citadel.StepError{Error: "RetryableError",
			Cause: `{"errorMessage":"dynamodb put asset: throttled","errorType":"RetryableError"}`}},
			"the asset-sync step failed: AWS kept refusing or throttling a request after every retry: dynamodb put asset: throttled", nil},
		{"prowler: task exited", citadel.FinalizeInput{Plan: plan, Assets: assets, Error: &citadel.StepError{Error: "States.TaskFailed",
			Cause: `{"StoppedReason":"Essential container in task exited","Containers":[{"Name":"prowler","ExitCode":1,"Reason":""}],"TaskArn":"arn:aws:ecs:us-east-1:123456789012:task/c/abc"}`}},
			"the prowler step failed: the Prowler task exited 1: Essential container in task exited", nil},
		{"prowler: timeout", citadel.FinalizeInput{Plan: plan, Assets: assets, Error: &citadel.StepError{Error: "States.Timeout"}},
			"the prowler step failed: the step ran past its timeout", nil},
		{"check-results: lambda error", citadel.FinalizeInput{Plan: plan, Assets: assets, Error: &citadel.StepError{Error: "Error",
			Cause: `{"errorMessage":"check-results scan s1: the OCSF file is truncated at byte 120","errorType":"Error"}`}},
			"the check-results step failed: check-results scan s1: the OCSF file is truncated at byte 120", nil},
		{"controls: SDK text, request id and ARN left out", citadel.FinalizeInput{Plan: plan, Assets: assets, Results: results,
			Error: &citadel.StepError{Error: "wrapError", Cause: `{"errorMessage":` + quote(sdk) + `,"errorType":"wrapError"}`}},
			"the controls step failed: controls scan s1: dynamodb put control c1: the DynamoDB PutItem call failed (ValidationException)", nil},
		{"ARN in a plain message", citadel.FinalizeInput{Plan: plan, Assets: assets, Results: results,
			Controls: citadel.ControlsOutput{Usage: ran}, Error: &citadel.StepError{Error: "Error",
				Cause: `{"errorMessage":"cannot assume arn:aws:iam::123456789012:role/CitadelScanner","errorType":"Error"}`}},
			"the policies step failed: cannot assume [ARN in the logs]", nil},
		{"multi-line raw cause", citadel.FinalizeInput{Error: &citadel.StepError{Error: "X", Cause: "line one\nline two"}},
			"the plan step failed: X: line one line two", nil},
		{"nothing known", citadel.FinalizeInput{Error: &citadel.StepError{}}, "the plan step failed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, finalize.FailureCause(tt.in, tt.steps)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestFinalizeSucceededAndFailed(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	now := t0.Add(90 * time.Second)
	h := &finalize.Handler{Store: store, Env: stepfn.Env{Clock: func() time.Time { return now }}}

	start := func(id string) {
		sc := citadel.Scan{ID: id, IntegrationID: "int-" + id, FolderID: "f1", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
		if err := store.StartScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if _, err := store.MarkScanRunning(ctx, sc.IntegrationID, id, ""); err != nil {
			t.Fatal(err)
		}
	}

	start("ok")
	in := citadel.FinalizeInput{
		Scan:    citadel.StartScan{ScanID: "ok", IntegrationID: "int-ok", Trigger: citadel.TriggerAPI},
		Plan:    citadel.PlanOutput{ScanID: "ok", IntegrationID: "int-ok", StartedAt: t0},
		Assets:  citadel.AssetSyncOutput{AssetsCreated: 4, TotalAssets: 4},
		Results: citadel.CheckResultsOutput{ResultsCreated: 7, ChecksFailed: 2, ChecksPassed: 5, ChecksExecuted: 3},
	}
	out, err := h.Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.ScanSummary{Success: true, Message: "Scan complete: 2 issues found", AssetsCreated: 4, TotalAssets: 4,
		ResultsCreated: 7, ChecksFailed: 2, ChecksPassed: 5, ChecksExecuted: 3, DurationSeconds: 90}
	if d := cmp.Diff(want, out.Summary); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	got, err := store.GetScan(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != citadel.ScanSucceeded || got.Summary == nil || !cmp.Equal(*got.Summary, want) || !got.FinishedAt.Equal(now) {
		t.Errorf("stored scan = %+v", got)
	}
	if _, err := store.RunningScan(ctx, "int-ok"); !citadel.IsNotFound(err) {
		t.Errorf("lock not released: %v", err)
	}
	// A retried finalize returns the recorded outcome and changes nothing.
	again, err := h.Handle(ctx, in)
	if err != nil || again.Status != citadel.ScanSucceeded || !cmp.Equal(again.Summary, want) {
		t.Errorf("retry = %+v, %v", again, err)
	}

	start("bad")
	failed, err := h.Handle(ctx, citadel.FinalizeInput{
		Scan:   citadel.StartScan{ScanID: "bad", IntegrationID: "int-bad"},
		Plan:   citadel.PlanOutput{ScanID: "bad", IntegrationID: "int-bad"},
		Assets: citadel.AssetSyncOutput{AssetsCreated: 1, TotalAssets: 1},
		Error:  &citadel.StepError{Error: "States.TaskFailed", Cause: `{"StoppedReason":"prowler: unknown check id foo"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != citadel.ScanFailed || failed.Summary.Success {
		t.Errorf("failed outcome = %+v", failed)
	}
	got, _ = store.GetScan(ctx, "bad")
	if got.Status != citadel.ScanFailed || got.FailureCause != "the prowler step failed: prowler: unknown check id foo" {
		t.Errorf("failed scan = %+v", got)
	}
	if _, err := store.RunningScan(ctx, "int-bad"); !citadel.IsNotFound(err) {
		t.Errorf("lock not released after failure: %v", err)
	}
}

func TestFinalizeBadInput(t *testing.T) {
	store := testenv.Store(t)
	h := &finalize.Handler{Store: store}
	if _, err := h.Handle(context.Background(), citadel.FinalizeInput{}); !citadel.IsInvalid(err) {
		t.Errorf("empty state: got %v, want invalid", err)
	}
	_, err := h.Handle(context.Background(), citadel.FinalizeInput{Scan: citadel.StartScan{ScanID: "nope", IntegrationID: "int-x"}})
	if !citadel.IsNotFound(err) {
		t.Errorf("unknown scan: got %v, want not found", err)
	}
}

// A scheduled run whose integration is gone fails in plan before its scan is
// recorded: finalize reports plan's failure, not "scan not found", and
// writes nothing.
func TestFinalizeUnrecordedScan(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	h := &finalize.Handler{Store: store}
	out, err := h.Handle(ctx, citadel.FinalizeInput{
		Scan:  citadel.StartScan{ScanID: "sched-1", IntegrationID: "int-gone", Trigger: citadel.TriggerSchedule},
		Error: &citadel.StepError{Error: "Error", Cause: `{"errorMessage":"plan scan sched-1: the integration int-gone of this schedule no longer exists","errorType":"Error"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.FinalizeOutput{ScanID: "sched-1", Status: citadel.ScanFailed, Summary: citadel.ScanSummary{
		Message: "Scan failed: the plan step failed: plan scan sched-1: the integration int-gone of this schedule no longer exists"}}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, err := store.GetScan(ctx, "sched-1"); !citadel.IsNotFound(err) {
		t.Errorf("a scan record was written: %v", err)
	}
}

// A scan cancelled while its last step ran stays cancelled: finalize reports
// the recorded outcome.
func TestFinalizeAfterCancel(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	h := &finalize.Handler{Store: store, Env: stepfn.Env{Clock: func() time.Time { return t0.Add(time.Hour) }}}
	sc := citadel.Scan{ID: "c1", IntegrationID: "int-c1", FolderID: "f1", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
	if err := store.StartScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	cancelled := sc
	cancelled.Status, cancelled.FinishedAt, cancelled.FailureCause = citadel.ScanCancelled, t0.Add(time.Minute), "the scan was cancelled"
	if _, err := store.FinishScan(ctx, cancelled); err != nil {
		t.Fatal(err)
	}
	out, err := h.Handle(ctx, citadel.FinalizeInput{Scan: citadel.StartScan{ScanID: "c1", IntegrationID: "int-c1"},
		Plan: citadel.PlanOutput{ScanID: "c1", IntegrationID: "int-c1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(citadel.FinalizeOutput{ScanID: "c1", Status: citadel.ScanCancelled}, out); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	got, _ := store.GetScan(ctx, "c1")
	if d := cmp.Diff(cancelled, got); d != "" {
		t.Errorf("stored scan (-want +got):\n%s", d)
	}
}

// TestFinalizeWithFailedShards: a scan some of whose Prowler shards failed
// succeeds, and its recorded summary names the shards and the checks not
// scanned.
func TestFinalizeWithFailedShards(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	h := &finalize.Handler{Store: store, Env: stepfn.Env{Clock: func() time.Time { return t0.Add(time.Minute) }}}
	sc := citadel.Scan{ID: "sharded", IntegrationID: "int-sharded", FolderID: "f1", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
	if err := store.StartScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	failed := []citadel.ShardFailure{{ShardID: "s02", Regions: []string{"eu-west-1"}, Checks: 12, Reason: "the Prowler task wrote no manifest",
		Units: []citadel.ShardUnit{{Region: "eu-west-1", Group: "compute"}}}}
	out, err := h.Handle(ctx, citadel.FinalizeInput{
		Scan:    citadel.StartScan{ScanID: sc.ID, IntegrationID: sc.IntegrationID, Trigger: citadel.TriggerAPI},
		Plan:    citadel.PlanOutput{ScanID: sc.ID, IntegrationID: sc.IntegrationID, StartedAt: t0},
		Results: citadel.CheckResultsOutput{ResultsCreated: 3, ChecksFailed: 1, ChecksExecuted: 8, ShardsFailed: failed, ShardsFailedCount: 1, ResultsCarried: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.ScanSummary{Success: true, ResultsCreated: 3, ChecksFailed: 1, ChecksExecuted: 8, DurationSeconds: 60,
		ShardsFailed: failed, ShardsFailedCount: 1, ResultsCarried: 5,
		Message: "Scan complete: 1 issues found; 1 shard failed (its checks not scanned, their results kept): " +
			"shard s02 (12 checks in eu-west-1): the Prowler task wrote no manifest"}
	if out.Status != citadel.ScanSucceeded {
		t.Errorf("status %s, want succeeded", out.Status)
	}
	if d := cmp.Diff(want, out.Summary); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	got, err := store.GetScan(ctx, sc.ID)
	if err != nil || got.Summary == nil {
		t.Fatalf("stored scan %+v, %v", got, err)
	}
	if d := cmp.Diff(want, *got.Summary); d != "" {
		t.Errorf("stored summary (-want +got):\n%s", d)
	}
}
