// Package finalize is the last state of a scan: it writes the scan summary
// and duration on the scan record and marks it succeeded, or, when an earlier
// state failed (the state machine's Catch puts the error under "error"),
// marks it failed with a one-line cause. Either way it releases the
// integration's scan lock, so a scan never stays running.
package finalize

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Store is what finalize needs of the table.
type Store interface {
	GetScanOf(ctx context.Context, integrationID, scanID string) (citadel.Scan, error)
	FinishScan(ctx context.Context, sc citadel.Scan) error
	Usage() citadel.Usage
}

// Handler finalizes scans.
type Handler struct {
	Store Store
	Clock citadel.Clock
	Log   *slog.Logger
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
	if err != nil {
		return citadel.FinalizeOutput{}, fmt.Errorf("finalize scan %s: %w", scanID, err)
	}
	if sc.Status == citadel.ScanSucceeded || sc.Status == citadel.ScanFailed {
		// A retried finalize: the outcome is already recorded.
		out := citadel.FinalizeOutput{ScanID: sc.ID, Status: sc.Status}
		if sc.Summary != nil {
			out.Summary = *sc.Summary
		}
		return out, nil
	}
	now := h.clock()
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
		sc.FailureCause = FailureCause(*in.Error)
		summary.Success = false
		summary.Message = "Scan failed: " + sc.FailureCause
	} else {
		sc.Status = citadel.ScanSucceeded
	}
	sc.Summary = &summary
	if err := h.Store.FinishScan(ctx, sc); err != nil {
		return citadel.FinalizeOutput{}, fmt.Errorf("finalize scan %s: %w", scanID, err)
	}
	h.log().InfoContext(ctx, "scan finished", "scan_id", sc.ID, "integration_id", sc.IntegrationID,
		"status", sc.Status, "duration_seconds", duration, "failure_cause", sc.FailureCause)
	return citadel.FinalizeOutput{ScanID: sc.ID, Status: sc.Status, Summary: summary}, nil
}

func (h *Handler) clock() time.Time {
	if h.Clock != nil {
		return h.Clock()
	}
	return citadel.SystemClock()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// MaxCauseLength bounds the failure cause kept on a scan.
const MaxCauseLength = 1000

// FailureCause turns a Catch's error output into one line: a Lambda error's
// message (its Cause is {"errorMessage", "errorType"}), an ECS task's stopped
// reason or its container's exit reason, or the raw cause.
func FailureCause(e citadel.StepError) string {
	cause := strings.TrimSpace(e.Cause)
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	var task struct {
		StoppedReason string `json:"StoppedReason"`
		Containers    []struct {
			Name     string `json:"Name"`
			ExitCode *int   `json:"ExitCode"`
			Reason   string `json:"Reason"`
		} `json:"Containers"`
	}
	switch {
	case json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "":
		cause = lambdaErr.ErrorMessage
	case json.Unmarshal([]byte(cause), &task) == nil && (task.StoppedReason != "" || len(task.Containers) > 0):
		parts := []string{}
		for _, c := range task.Containers {
			if c.ExitCode != nil && *c.ExitCode != 0 {
				parts = append(parts, fmt.Sprintf("container %s exited %d", c.Name, *c.ExitCode))
			}
			if c.Reason != "" {
				parts = append(parts, c.Reason)
			}
		}
		if task.StoppedReason != "" {
			parts = append(parts, task.StoppedReason)
		}
		cause = strings.Join(parts, ": ")
	}
	line := e.Error
	if cause != "" {
		if line != "" {
			line += ": "
		}
		line += cause
	}
	line = strings.Join(strings.Fields(line), " ")
	if line == "" {
		line = "unknown failure"
	}
	if len(line) > MaxCauseLength {
		line = line[:MaxCauseLength]
	}
	return line
}
