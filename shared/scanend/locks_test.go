package scanend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// fixture is a table and a state machine in a fresh account of moto, and
// the Locks over them with a clock the test moves.
type fixture struct {
	store *ddb.Store
	sfn   *sfn.Client
	smARN string
	now   time.Time
	locks *scanend.Locks
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{now: t0}
	f.store = testenv.Store(t, ddb.WithClock(func() time.Time { return t0 }))
	acct, accountID, _ := testenv.Account(t, testenv.Config(t))
	f.sfn = sfn.NewFromConfig(acct)
	sm, err := f.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-scan")),
		Definition: aws.String(`{"StartAt":"plan","States":{"plan":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/citadel-states", accountID)),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.smARN = aws.ToString(sm.StateMachineArn)
	f.locks = &scanend.Locks{Store: f.store, Executions: f.sfn, StateMachineARN: f.smARN, Clock: func() time.Time { return f.now }}
	return f
}

func scan(id string) citadel.Scan {
	return citadel.Scan{ID: id, IntegrationID: "int-1", FolderID: "f1", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
}

// started records sc and starts its execution as the API does; running
// also moves it to running with the execution's ARN.
func (f *fixture) started(t *testing.T, sc citadel.Scan, running bool) string {
	t.Helper()
	ctx := context.Background()
	if err := f.locks.Start(ctx, sc); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(citadel.PlanInput{Scan: citadel.StartScan{ScanID: sc.ID, IntegrationID: sc.IntegrationID, Trigger: sc.Trigger}})
	out, err := f.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(f.smARN), Name: aws.String(sc.ID), Input: aws.String(string(in))})
	if err != nil {
		t.Fatal(err)
	}
	if running {
		if _, err := f.store.MarkScanRunning(ctx, sc.IntegrationID, sc.ID, aws.ToString(out.ExecutionArn)); err != nil {
			t.Fatal(err)
		}
	}
	return aws.ToString(out.ExecutionArn)
}

func TestExecutionARN(t *testing.T) {
	got, err := scanend.ExecutionARN("arn:aws:states:us-east-1:123456789012:stateMachine:citadel-scan", "scan-1")
	if d := cmp.Diff("arn:aws:states:us-east-1:123456789012:execution:citadel-scan:scan-1", got); d != "" || err != nil {
		t.Errorf("%v (-want +got):\n%s", err, d)
	}
	for _, bad := range []string{"", "arn:aws:states:us-east-1:123456789012:execution:x:y", "arn:aws:states:r:a:stateMachine:"} {
		if _, err := scanend.ExecutionARN(bad, "s"); !citadel.IsInvalid(err) {
			t.Errorf("%q: got %v, want invalid", bad, err)
		}
	}
}

func TestStartTakesOverAnEndedOrStuckLock(t *testing.T) {
	tests := []struct {
		name string
		// hold sets up the holder scan-1 and returns the status and cause
		// it must end with (status "" = it still holds the lock).
		hold  func(t *testing.T, f *fixture) (citadel.ScanStatus, string)
		after time.Duration
	}{
		{"holder's execution was stopped", func(t *testing.T, f *fixture) (citadel.ScanStatus, string) {
			arn := f.started(t, scan("scan-1"), true)
			if _, err := f.sfn.StopExecution(context.Background(), &sfn.StopExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
			return citadel.ScanCancelled, "the scan's execution was stopped outside Citadel (found when scan scan-2 started)"
		}, time.Minute},
		{"holder queued with no execution past the bound", func(t *testing.T, f *fixture) (citadel.ScanStatus, string) {
			if err := f.locks.Start(context.Background(), scan("scan-1")); err != nil {
				t.Fatal(err)
			}
			return citadel.ScanFailed, "the scan never started: it had no execution 15m0s after it was queued (found when scan scan-2 started)"
		}, 16 * time.Minute},
		{"holder queued with no execution, within the bound", func(t *testing.T, f *fixture) (citadel.ScanStatus, string) {
			if err := f.locks.Start(context.Background(), scan("scan-1")); err != nil {
				t.Fatal(err)
			}
			return "", ""
		}, 14 * time.Minute},
		{"scheduled holder running, its execution not found by name, within the timeout", func(t *testing.T, f *fixture) (citadel.ScanStatus, string) {
			f.scheduledRunning(t)
			return "", ""
		}, 5 * time.Hour},
		{"scheduled holder running, its execution not found by name, past the timeout", func(t *testing.T, f *fixture) (citadel.ScanStatus, string) {
			f.scheduledRunning(t)
			return citadel.ScanFailed, "the scan's execution could not be found and the 6-hour execution timeout has passed (found when scan scan-2 started)"
		}, 6*time.Hour + 16*time.Minute},
		{"holder's execution runs", func(t *testing.T, f *fixture) (citadel.ScanStatus, string) {
			f.started(t, scan("scan-1"), true)
			return "", ""
		}, 5 * time.Hour},
		{"queued holder whose execution runs", func(t *testing.T, f *fixture) (citadel.ScanStatus, string) {
			f.started(t, scan("scan-1"), false)
			return "", ""
		}, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			status, cause := tt.hold(t, f)
			before, _ := f.store.GetScan(ctx, "scan-1")
			f.now = t0.Add(tt.after)
			next := scan("scan-2")
			next.CreatedAt = f.now
			err := f.locks.Start(ctx, next)
			if status == "" {
				if !citadel.IsConflict(err) {
					t.Fatalf("got %v, want a conflict", err)
				}
				if d := cmp.Diff("integration int-1 already has scan scan-1 "+string(before.Status), err.Error()); d != "" {
					t.Errorf("message (-want +got):\n%s", d)
				}
				if after, _ := f.store.GetScan(ctx, "scan-1"); !cmp.Equal(before, after) {
					t.Errorf("the live holder changed: %s", cmp.Diff(before, after))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			old, _ := f.store.GetScan(ctx, "scan-1")
			want := before
			want.Status, want.FailureCause = status, cause
			want.FinishedAt = old.FinishedAt // the execution's stop date, or now
			if d := cmp.Diff(want, old); d != "" {
				t.Errorf("old scan (-want +got):\n%s", d)
			}
			if old.FinishedAt.IsZero() {
				t.Error("old scan has no finish time")
			}
			holder, err := f.store.RunningScan(ctx, "int-1")
			if err != nil || holder.ID != "scan-2" {
				t.Errorf("holder = %s, %v; want scan-2", holder.ID, err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	arn := f.started(t, scan("scan-1"), true)
	f.now = t0.Add(time.Minute)

	got, err := f.locks.Cancel(ctx, "scan-1", "arn:aws:iam::123456789012:user/alice")
	if err != nil {
		t.Fatal(err)
	}
	want := scan("scan-1")
	want.Status, want.ExecutionARN, want.StartedAt = citadel.ScanCancelled, arn, got.StartedAt
	want.FinishedAt, want.CancelledBy = f.now, "arn:aws:iam::123456789012:user/alice"
	want.FailureCause = "the scan was cancelled by arn:aws:iam::123456789012:user/alice"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("cancelled scan (-want +got):\n%s", d)
	}
	ex, err := f.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil || ex.Status != "ABORTED" {
		t.Errorf("execution = %v, %v; want ABORTED", ex.Status, err)
	}
	if _, err := f.store.RunningScan(ctx, "int-1"); !citadel.IsNotFound(err) {
		t.Errorf("lock: %v, want released", err)
	}

	// Again: harmless, the same scan.
	f.now = t0.Add(time.Hour)
	again, err := f.locks.Cancel(ctx, "scan-1", "someone else")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, again); d != "" {
		t.Errorf("second cancel (-want +got):\n%s", d)
	}

	// A finished scan: a conflict naming its status. An unknown one: not found.
	f.started(t, scan("scan-2"), true)
	done, _ := f.store.GetScan(ctx, "scan-2")
	done.Status, done.FinishedAt = citadel.ScanSucceeded, f.now
	if _, err := f.store.FinishScan(ctx, done); err != nil {
		t.Fatal(err)
	}
	if _, err := f.locks.Cancel(ctx, "scan-2", ""); !citadel.IsConflict(err) || err.Error() != "scan scan-2 is already succeeded" {
		t.Errorf("cancel a succeeded scan: got %v", err)
	}
	if _, err := f.locks.Cancel(ctx, "scan-9", ""); !citadel.IsNotFound(err) {
		t.Errorf("cancel an unknown scan: got %v", err)
	}

	// A queued scan whose execution never started: cancelled all the same.
	if err := f.locks.Start(ctx, scan("scan-3")); err != nil {
		t.Fatal(err)
	}
	q, err := f.locks.Cancel(ctx, "scan-3", "")
	if err != nil || q.Status != citadel.ScanCancelled || q.FailureCause != "the scan was cancelled" {
		t.Errorf("cancel a queued scan: %+v, %v", q, err)
	}
}

// scheduledRunning records scan-1 as a schedule's plan step does: queued,
// then running with no execution ARN (its execution has another name).
func (f *fixture) scheduledRunning(t *testing.T) {
	t.Helper()
	sc := scan("scan-1")
	sc.Trigger = citadel.TriggerSchedule
	if err := f.locks.Start(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.MarkScanRunning(context.Background(), sc.IntegrationID, sc.ID, ""); err != nil {
		t.Fatal(err)
	}
}
