package finalize_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
	"github.com/citadelsecure/citadel/shared/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestFailureCause(t *testing.T) {
	tests := []struct {
		name string
		in   citadel.StepError
		want string
	}{
		{"lambda error", citadel.StepError{Error: "RetryableError", Cause: `{"errorMessage":"dynamodb put: throttled","errorType":"RetryableError"}`}, "RetryableError: dynamodb put: throttled"},
		{"ecs task", citadel.StepError{Error: "States.TaskFailed", Cause: `{"StoppedReason":"Essential container in task exited","Containers":[{"Name":"prowler","ExitCode":1,"Reason":""}]}`}, "States.TaskFailed: container prowler exited 1: Essential container in task exited"},
		{"timeout", citadel.StepError{Error: "States.Timeout"}, "States.Timeout"},
		{"multi-line raw", citadel.StepError{Error: "X", Cause: "line one\nline two"}, "X: line one line two"},
		{"empty", citadel.StepError{}, "unknown failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, finalize.FailureCause(tt.in)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestFinalizeSucceededAndFailed(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	now := t0.Add(90 * time.Second)
	h := &finalize.Handler{Store: store, Clock: func() time.Time { return now }}

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
	if got.Status != citadel.ScanSucceeded || got.Summary == nil || *got.Summary != want || !got.FinishedAt.Equal(now) {
		t.Errorf("stored scan = %+v", got)
	}
	if _, err := store.RunningScan(ctx, "int-ok"); !citadel.IsNotFound(err) {
		t.Errorf("lock not released: %v", err)
	}
	// A retried finalize returns the recorded outcome and changes nothing.
	again, err := h.Handle(ctx, in)
	if err != nil || again.Status != citadel.ScanSucceeded || again.Summary != want {
		t.Errorf("retry = %+v, %v", again, err)
	}

	start("bad")
	failed, err := h.Handle(ctx, citadel.FinalizeInput{
		Scan:   citadel.StartScan{ScanID: "bad", IntegrationID: "int-bad"},
		Assets: citadel.AssetSyncOutput{AssetsCreated: 1},
		Error:  &citadel.StepError{Error: "States.TaskFailed", Cause: `{"StoppedReason":"prowler: unknown check id foo"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != citadel.ScanFailed || failed.Summary.Success {
		t.Errorf("failed outcome = %+v", failed)
	}
	got, _ = store.GetScan(ctx, "bad")
	if got.Status != citadel.ScanFailed || got.FailureCause != "States.TaskFailed: prowler: unknown check id foo" {
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
