// Package reconcile ends the scans whose execution ended where no Catch sees
// it: stopped in the console, past the execution timeout, or failed in
// finalize (org-summary, for an organization scan). An EventBridge rule on
// the state machines' "Step Functions
// Execution Status Change" events (FAILED, TIMED_OUT, ABORTED; the pattern
// is scanend.EventPattern) invokes it. It maps the execution to its scan
// (the execution input names the scan and its integration), finishes it
// failed, timed_out or cancelled with the cause in words, and releases the
// lock. It is idempotent: a scan that has already ended (finalize ran, the
// API cancelled it, or this event came twice) stays as it is. An event that
// is not about a scan of ours is ignored with a log line.
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the reconciler needs of the table.
type Store interface {
	GetScanOf(ctx context.Context, integrationID, scanID string) (citadel.Scan, error)
	FinishScan(ctx context.Context, sc citadel.Scan) (citadel.Scan, error)
	// ScanSteps are the steps the step contract recorded: where the
	// execution was when it ended.
	ScanSteps(ctx context.Context, scanID string) ([]citadel.StepProgress, error)
}

// Handler reconciles scans with their ended executions.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store Store
	// StateMachineARN is the scan state machine (citadel.EnvStateMachineARN),
	// OrgStateMachineARN the organization scan's (citadel.EnvOrgStateMachineARN,
	// whose execution input names the organization scan the same way):
	// events of other state machines are ignored.
	StateMachineARN    string
	OrgStateMachineARN string
	// Locks, when set, heals the lock that refused a scheduled run (the
	// run failed before its scan was recorded): a holder whose execution
	// has ended is finished (scanend.Locks.Heal).
	Locks *scanend.Locks
	// Announce, when set, puts the end of every scan this reconciler ends
	// on the drift bus ("Scan Failed").
	Announce *scanend.Announcer
}

// Outcome says what the reconciler did with an event.
type Outcome struct {
	ScanID string             `json:"scan_id,omitempty"`
	Status citadel.ScanStatus `json:"status,omitempty"` // the scan's status afterwards
	// Changed is true when this event ended the scan; false when it had
	// already ended (or the event was ignored).
	Changed bool `json:"changed"`
	// Ignored says why an event was not about a scan of ours.
	Ignored string `json:"ignored,omitempty"`
	// Healed is the scan whose ended execution still held the lock that
	// refused this run, now ended.
	Healed string `json:"healed,omitempty"`
}

// Handle finishes the scan of an ended execution.
func (h *Handler) Handle(ctx context.Context, ev events.CloudWatchEvent) (Outcome, error) {
	if ev.Source != scanend.EventSource || ev.DetailType != scanend.EventDetailType {
		return h.ignore(ctx, ev, fmt.Sprintf("not a Step Functions execution status change (source %q, detail-type %q)", ev.Source, ev.DetailType))
	}
	var d scanend.ExecutionDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return Outcome{}, citadel.Invalid("reconcile: event %s: detail is not an execution status change: %s", ev.ID, err.Error())
	}
	if d.ExecutionARN == "" || d.Status == "" {
		return Outcome{}, citadel.Invalid("reconcile: event %s: detail names no execution (executionArn and status are required)", ev.ID)
	}
	if h.StateMachineARN != "" && d.StateMachineARN != h.StateMachineARN && (h.OrgStateMachineARN == "" || d.StateMachineARN != h.OrgStateMachineARN) {
		return h.ignore(ctx, ev, "an execution of another state machine")
	}
	status, ended := scanend.EndStatus(d.Status)
	if !ended || d.Status == "SUCCEEDED" {
		return h.ignore(ctx, ev, fmt.Sprintf("the execution is %s, not failed, timed out or aborted", d.Status))
	}
	var in citadel.PlanInput
	if d.Input == nil || json.Unmarshal([]byte(*d.Input), &in) != nil || !citadel.ValidID(in.Scan.ScanID) || !citadel.ValidID(in.Scan.IntegrationID) {
		return h.ignore(ctx, ev, "the execution input names no scan")
	}
	sc, err := h.Store.GetScanOf(ctx, in.Scan.IntegrationID, in.Scan.ScanID)
	switch {
	case citadel.IsNotFound(err):
		// A run that failed before its scan was recorded (a schedule
		// whose integration is gone, or refused by the lock): nothing to
		// end, but a lock whose holder has ended is healed.
		out, _ := h.ignore(ctx, ev, "no scan record "+in.Scan.ScanID+" of integration "+in.Scan.IntegrationID)
		if h.Locks == nil {
			return out, nil
		}
		healed, err := h.Locks.Heal(ctx, in.Scan.IntegrationID)
		if err != nil {
			return Outcome{}, fail(err, "reconcile: heal the lock of integration %s", in.Scan.IntegrationID)
		}
		if healed != nil {
			out.Healed = healed.ID
		}
		return out, nil
	case err != nil:
		return Outcome{}, fail(err, "reconcile scan %s", in.Scan.ScanID)
	case !sc.Status.Active():
		h.Logger().InfoContext(ctx, "scan already ended", "scan_id", sc.ID, "status", sc.Status, "execution_status", d.Status)
		return Outcome{ScanID: sc.ID, Status: sc.Status}, nil
	}
	done := sc
	done.Status = status
	done.FinishedAt = d.Stopped()
	if done.FinishedAt.IsZero() {
		done.FinishedAt = h.Now()
	}
	if done.ExecutionARN == "" {
		done.ExecutionARN = d.ExecutionARN
	}
	execErr := citadel.StepError{Error: deref(d.Error), Cause: deref(d.Cause)}
	done.FailureCause = scanend.ExecutionCause(d.Status, h.stepAtEnd(ctx, sc.ID), execErr)
	stored, err := h.Store.FinishScan(ctx, done)
	if err != nil {
		return Outcome{}, fail(err, "reconcile scan %s", sc.ID)
	}
	changed := stored.Status == done.Status && stored.FinishedAt.Equal(done.FinishedAt) && stored.FailureCause == done.FailureCause
	h.Logger().InfoContext(ctx, "scan reconciled", "scan_id", sc.ID, "integration_id", sc.IntegrationID, "status", stored.Status,
		"changed", changed, "execution_arn", d.ExecutionARN, "execution_status", d.Status,
		"execution_error", execErr.Error, "execution_cause", execErr.Cause, "failure_cause", stored.FailureCause)
	if changed {
		h.Announce.Ended(ctx, stored)
	}
	return Outcome{ScanID: sc.ID, Status: stored.Status, Changed: changed}, nil
}

// stepAtEnd is the step the execution was in when it ended
// (scanend.StepAtEnd), "" when the steps cannot be read.
func (h *Handler) stepAtEnd(ctx context.Context, scanID string) string {
	steps, err := h.Store.ScanSteps(ctx, scanID)
	if err != nil {
		h.Logger().WarnContext(ctx, "read the scan's steps", "scan_id", scanID, "error", err.Error())
		return ""
	}
	return scanend.StepAtEnd(steps)
}

func (h *Handler) ignore(ctx context.Context, ev events.CloudWatchEvent, why string) (Outcome, error) {
	h.Logger().InfoContext(ctx, "event ignored", "event_id", ev.ID, "source", ev.Source, "detail_type", ev.DetailType,
		"resources", ev.Resources, "why", why)
	return Outcome{Ignored: why}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// fail wraps err with context, but returns a retryable error as it is.
func fail(err error, format string, args ...any) error {
	var r *citadel.RetryableError
	if errors.As(err, &r) {
		return r
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
