package ddb_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// A scan's steps, recorded as the step contract records them (a start and
// an end per attempt), come back in pipeline order with their attempts.
func TestScanStepsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Recorded out of order: the query sorts them by the pipeline.
	must(s.StepStarted(ctx, "scn-1", citadel.StepAssetSync, at(1)))
	must(s.StepStarted(ctx, "scn-1", citadel.StepPlan, at(0)))
	must(s.StepFinished(ctx, "scn-1", citadel.StepProgress{Step: citadel.StepPlan, Status: citadel.StepSucceeded,
		StartedAt: at(0), FinishedAt: at(1), Counts: map[string]int{"checks_planned": 20}, Usage: citadel.Usage{Requests: 4, WriteUnits: 2}}))
	// asset-sync: a throttled attempt, then a retry that succeeds.
	must(s.StepFinished(ctx, "scn-1", citadel.StepProgress{Step: citadel.StepAssetSync, Status: citadel.StepRetrying,
		StartedAt: at(1), FinishedAt: at(2), Error: citadel.ErrorTypeRetryable}))
	must(s.StepStarted(ctx, "scn-1", citadel.StepAssetSync, at(3)))
	running, err := s.ScanSteps(ctx, "scn-1")
	must(err)
	if got := running[1]; got.Status != citadel.StepRunning || got.Attempts != 2 || got.Error != "" || !got.FinishedAt.IsZero() || !got.StartedAt.Equal(at(1)) {
		t.Errorf("asset-sync on its second attempt = %+v", got)
	}
	must(s.StepFinished(ctx, "scn-1", citadel.StepProgress{Step: citadel.StepAssetSync, Status: citadel.StepSucceeded,
		StartedAt: at(3), FinishedAt: at(4), Counts: map[string]int{"total_assets": 14}}))
	// A step whose start was never recorded (its first write was lost).
	must(s.StepFinished(ctx, "scn-1", citadel.StepProgress{Step: citadel.StepCheckResults, Status: citadel.StepFailed,
		StartedAt: at(30), FinishedAt: at(31), Error: "Error"}))

	got, err := s.ScanSteps(ctx, "scn-1")
	must(err)
	want := []citadel.StepProgress{
		{Step: citadel.StepPlan, Status: citadel.StepSucceeded, Attempts: 1, StartedAt: at(0), FinishedAt: at(1),
			Counts: map[string]int{"checks_planned": 20}, Usage: citadel.Usage{Requests: 4, WriteUnits: 2}},
		{Step: citadel.StepAssetSync, Status: citadel.StepSucceeded, Attempts: 2, StartedAt: at(1), FinishedAt: at(4),
			Counts: map[string]int{"total_assets": 14}},
		{Step: citadel.StepCheckResults, Status: citadel.StepFailed, Attempts: 1, StartedAt: at(30), FinishedAt: at(31), Error: "Error"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
	if step, since := citadel.CurrentStep(got); step != citadel.StepFinalize || !since.Equal(at(31)) {
		t.Errorf("current step = %s since %v", step, since)
	}
	other, err := s.ScanSteps(ctx, "scn-2")
	must(err)
	if len(other) != 0 {
		t.Errorf("another scan's steps = %+v", other)
	}
}
