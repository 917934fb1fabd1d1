package citadel

import (
	"testing"
	"time"
)

func TestCurrentStep(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	done := func(step string, start, end int) StepProgress {
		return StepProgress{Step: step, Status: StepSucceeded, StartedAt: at(start), FinishedAt: at(end)}
	}
	tests := []struct {
		name      string
		steps     []StepProgress
		wantStep  string
		wantSince time.Time
	}{
		{"nothing yet", nil, "", time.Time{}},
		{"plan running", []StepProgress{{Step: "plan", Status: StepRunning, StartedAt: at(0)}}, "plan", at(0)},
		{"prowler between asset sync and check results", []StepProgress{done("plan", 0, 1), done("asset-sync", 1, 3)}, "prowler", at(3)},
		{"check results retrying", []StepProgress{done("plan", 0, 1), done("asset-sync", 1, 3),
			{Step: "check-results", Status: StepRetrying, StartedAt: at(20)}}, "check-results", at(20)},
		{"failed step, finalize next", []StepProgress{done("plan", 0, 1), {Step: "asset-sync", Status: StepFailed, StartedAt: at(1), FinishedAt: at(2)}},
			"finalize", at(2)},
		{"failed step, finalize running", []StepProgress{done("plan", 0, 1), {Step: "asset-sync", Status: StepFailed, StartedAt: at(1)},
			{Step: "finalize", Status: StepRunning, StartedAt: at(2)}}, "finalize", at(2)},
		{"all done", []StepProgress{done("plan", 0, 1), done("asset-sync", 1, 2), done("prowler", 2, 3), done("check-results", 3, 4),
			done("controls", 4, 5), done("policies", 5, 6), done("evidence", 6, 7), done("finalize", 7, 8)}, "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, since := CurrentStep(tc.steps)
			if step != tc.wantStep || !since.Equal(tc.wantSince) {
				t.Errorf("CurrentStep = %q since %v, want %q since %v", step, since, tc.wantStep, tc.wantSince)
			}
		})
	}
}
