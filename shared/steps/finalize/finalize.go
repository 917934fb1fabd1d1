// Package finalize is the last state of a scan: it writes the scan summary
// and duration on the scan record and marks it succeeded, or, when an earlier
// state failed (the state machine's Catch puts the error under "error"),
// marks it failed with a one-line cause. Either way it releases the
// integration's scan lock, so a scan never stays running, and announces the
// end on the drift bus (scanend.Announcer) when it was this call that
// recorded it.
package finalize

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what finalize needs of the table.
type Store interface {
	GetScanOf(ctx context.Context, integrationID, scanID string) (citadel.Scan, error)
	FinishScan(ctx context.Context, sc citadel.Scan) (citadel.Scan, error)
	Usage() citadel.Usage
	// ScanSteps are the steps the step contract recorded (which one failed).
	ScanSteps(ctx context.Context, scanID string) ([]citadel.StepProgress, error)
}

// Handler finalizes scans.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store Store
	// Announce, when set, puts the scan's end ("Scan Succeeded" or "Scan
	// Failed") on the drift bus once this finalize has recorded it.
	Announce *scanend.Announcer
}

// Handle records the outcome of the scan named in the state.
func (h *Handler) Handle(ctx context.Context, in citadel.FinalizeInput) (citadel.FinalizeOutput, error) {
	scanID, integrationID := in.Scan.ScanID, in.Scan.IntegrationID
	if scanID == "" {
		scanID = in.Plan.ScanID
	}
	if integrationID == "" {
		integrationID = in.Plan.IntegrationID
	}
	if scanID == "" || integrationID == "" {
		return citadel.FinalizeOutput{}, citadel.Invalid("finalize: the state names no scan (scan.scan_id and scan.integration_id are required)")
	}
	sc, err := h.Store.GetScanOf(ctx, integrationID, scanID)
	if citadel.IsNotFound(err) && in.Error != nil {
		// A step failed before the scan was recorded (a scheduled run whose
		// integration is gone): there is no record to finish, and the
		// execution fails with that step's own error.
		h.Logger().WarnContext(ctx, "scan failed before it was recorded", "scan_id", scanID, "integration_id", integrationID,
			"error", in.Error.Error, "cause", in.Error.Cause)
		return citadel.FinalizeOutput{ScanID: scanID, Status: citadel.ScanFailed,
			Summary: citadel.ScanSummary{Message: "Scan failed: " + FailureCause(in, h.steps(ctx, scanID))}}, nil
	}
	if err != nil {
		return citadel.FinalizeOutput{}, fmt.Errorf("finalize scan %s: %w", scanID, err)
	}
	if !sc.Status.Active() {
		// A retried finalize, or the scan was cancelled: the outcome is
		// already recorded.
		return recorded(sc), nil
	}
	now := h.Now()
	start := in.Plan.StartedAt
	if start.IsZero() {
		start = sc.StartedAt
	}
	if start.IsZero() {
		start = sc.CreatedAt
	}
	duration := now.Sub(start).Round(time.Millisecond).Seconds()
	summary := citadel.Summarize(in, duration)
	sc.FinishedAt = now
	if in.Error != nil {
		sc.Status = citadel.ScanFailed
		steps := h.steps(ctx, sc.ID)
		sc.FailureCause = FailureCause(in, steps)
		h.Logger().InfoContext(ctx, "step failed", "scan_id", sc.ID, "step", FailedStep(in, steps), "error", in.Error.Error, "cause", in.Error.Cause)
		summary.Success = false
		summary.Message = "Scan failed: " + sc.FailureCause
	} else {
		sc.Status = citadel.ScanSucceeded
	}
	sc.Summary = &summary
	stored, err := h.Store.FinishScan(ctx, sc)
	if err != nil {
		return citadel.FinalizeOutput{}, fmt.Errorf("finalize scan %s: %w", scanID, err)
	}
	if stored.Status != sc.Status {
		// It ended another way first (cancelled while finalize ran).
		return recorded(stored), nil
	}
	h.Logger().InfoContext(ctx, "scan finished", "scan_id", sc.ID, "integration_id", sc.IntegrationID,
		"status", sc.Status, "duration_seconds", duration, "failure_cause", sc.FailureCause)
	h.Announce.Ended(ctx, stored)
	return citadel.FinalizeOutput{ScanID: sc.ID, Status: sc.Status, Summary: summary}, nil
}

// recorded is the outcome of a scan that has already ended.
func recorded(sc citadel.Scan) citadel.FinalizeOutput {
	out := citadel.FinalizeOutput{ScanID: sc.ID, Status: sc.Status}
	if sc.Summary != nil {
		out.Summary = *sc.Summary
	}
	return out
}

// steps are the scan's recorded steps; unreadable, none (the cause then
// comes from the state alone).
func (h *Handler) steps(ctx context.Context, scanID string) []citadel.StepProgress {
	steps, err := h.Store.ScanSteps(ctx, scanID)
	if err != nil {
		h.Logger().WarnContext(ctx, "read the scan's steps", "scan_id", scanID, "error", err.Error())
		return nil
	}
	return steps
}

// FailureCause says in words which step failed and why (scanend.StepCause);
// the raw error and cause go to the log.
func FailureCause(in citadel.FinalizeInput, steps []citadel.StepProgress) string {
	var e citadel.StepError
	if in.Error != nil {
		e = *in.Error
	}
	return scanend.StepCause(FailedStep(in, steps), e)
}

// FailedStep is the step whose error the Catch caught. From the steps the
// step contract recorded (finalize's own left out): the one recorded
// failed, or, when none is (the Prowler task records nothing itself), the
// step after the last that succeeded. With nothing recorded, from the
// state: the first step of the pipeline whose output is missing (every
// Lambda step reads the table, so a step that ran has usage); the Prowler
// task keeps no output, so after asset sync a Lambda-shaped cause is
// check-results', any other the task's.
func FailedStep(in citadel.FinalizeInput, steps []citadel.StepProgress) string {
	var before []citadel.StepProgress
	for _, st := range steps {
		if st.Status == citadel.StepFailed && st.Step != citadel.StepFinalize {
			return st.Step
		}
		if st.Step != citadel.StepFinalize {
			before = append(before, st)
		}
	}
	if step := scanend.StepAtEnd(before); step != "" {
		return step
	}
	switch {
	case in.Plan.ScanID == "":
		return citadel.StepPlan
	case in.Assets.Usage.Requests == 0 && in.Assets.TotalAssets == 0:
		return citadel.StepAssetSync
	case in.Results.Usage.Requests == 0 && in.Results.ChecksExecuted == 0:
		if in.Error != nil && isLambdaCause(in.Error.Cause) {
			return citadel.StepCheckResults
		}
		return citadel.StepProwler
	case in.Controls.Usage.Requests == 0:
		return citadel.StepControls
	case in.Policies.Usage.Requests == 0:
		return citadel.StepPolicies
	case in.Evidence.Usage.Requests == 0:
		return citadel.StepEvidence
	}
	return ""
}

func isLambdaCause(cause string) bool {
	var e struct {
		ErrorType *string `json:"errorType"`
	}
	return json.Unmarshal([]byte(cause), &e) == nil && e.ErrorType != nil
}
