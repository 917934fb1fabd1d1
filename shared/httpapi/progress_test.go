package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// GET /scans/{id} shows a running scan's steps as they landed and the step
// it is in now: the Prowler task, from asset sync's end.
func TestGetScanShowsItsSteps(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(validIntegration)
	rec := f.do("POST", "/integrations/"+in.ID+"/scans", "")
	expect(t, rec, http.StatusAccepted, "", "")
	sc := decodeBody[citadel.Scan](t, rec)

	// Nothing recorded yet: no steps, no current step.
	got := decodeBody[ScanView](t, f.do("GET", "/scans/"+sc.ID, ""))
	if len(got.Steps) != 0 || got.CurrentStep != "" {
		t.Errorf("a scan before its first step: %+v", got)
	}

	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	plan := citadel.StepProgress{Step: citadel.StepPlan, Status: citadel.StepSucceeded, StartedAt: at(0), FinishedAt: at(2),
		Counts: map[string]int{"checks_planned": 48}, Usage: citadel.Usage{Requests: 5, ReadUnits: 3, WriteUnits: 2}}
	assets := citadel.StepProgress{Step: citadel.StepAssetSync, Status: citadel.StepSucceeded, StartedAt: at(2), FinishedAt: at(40),
		Counts: map[string]int{"total_assets": 61, "assets_created": 61}}
	for _, p := range []citadel.StepProgress{plan, assets} {
		if err := f.store.StepStarted(ctx, sc.ID, p.Step, p.StartedAt); err != nil {
			t.Fatal(err)
		}
		if err := f.store.StepFinished(ctx, sc.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	rec = f.do("GET", "/scans/"+sc.ID, "")
	expect(t, rec, http.StatusOK, "", "")
	got = decodeBody[ScanView](t, rec)
	plan.Attempts, assets.Attempts = 1, 1
	if d := cmp.Diff([]citadel.StepProgress{plan, assets}, got.Steps); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
	if got.CurrentStep != citadel.StepProwler || !got.CurrentStepSince.Equal(at(40)) {
		t.Errorf("current step %q since %v, want prowler since %v", got.CurrentStep, got.CurrentStepSince, at(40))
	}

	// check-results starts: it is the current step, since its start.
	if err := f.store.StepStarted(ctx, sc.ID, citadel.StepCheckResults, at(300)); err != nil {
		t.Fatal(err)
	}
	got = decodeBody[ScanView](t, f.do("GET", "/scans/"+sc.ID, ""))
	if got.CurrentStep != citadel.StepCheckResults || !got.CurrentStepSince.Equal(at(300)) || len(got.Steps) != 3 {
		t.Errorf("current step %q since %v with %d steps", got.CurrentStep, got.CurrentStepSince, len(got.Steps))
	}
}
