package scanend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Store is what the scan's life cycle needs of the table (*ddb.Store).
type Store interface {
	StartScan(ctx context.Context, sc citadel.Scan) error
	RunningScan(ctx context.Context, integrationID string) (citadel.Scan, error)
	GetScan(ctx context.Context, scanID string) (citadel.Scan, error)
	TakeOverScan(ctx context.Context, old, next citadel.Scan) error
	FinishScan(ctx context.Context, sc citadel.Scan) (citadel.Scan, error)
	ScanSteps(ctx context.Context, scanID string) ([]citadel.StepProgress, error)
}

// Executions is what it needs of Step Functions.
type Executions interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	StopExecution(ctx context.Context, in *sfn.StopExecutionInput, opts ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
}

// Locks starts and cancels scans, healing a lock whose holder's execution
// has ended.
type Locks struct {
	Store           Store
	Executions      Executions
	StateMachineARN string
	// OrgStateMachineARN is the organization state machine: an
	// organization scan's execution, when the scan has not recorded it, is
	// found there by the scan's id (as an account scan's is in
	// StateMachineARN).
	OrgStateMachineARN string
	// StartBound overrides StartBound (tests).
	StartBound time.Duration
	Clock      citadel.Clock
	Log        *slog.Logger
	// Announce, when set, announces every scan these locks end (a
	// take-over, a heal, a cancel) on the drift bus.
	Announce *Announcer
}

// Start records sc queued and takes its integration's lock. A lock held by
// another scan is taken over when that scan's execution has ended, or when
// it has been queued without an execution for longer than StartBound: the
// old scan is finished with that reason, in the same transaction. A holder
// whose execution runs is a conflict naming it.
func (l *Locks) Start(ctx context.Context, sc citadel.Scan) error {
	err := l.Store.StartScan(ctx, sc)
	if !citadel.IsConflict(err) {
		return err
	}
	holder, herr := l.Store.RunningScan(ctx, sc.IntegrationID)
	if herr != nil || holder.ID == sc.ID {
		return err
	}
	ended, err2 := l.ended(ctx, holder)
	if err2 != nil {
		return fmt.Errorf("start scan %s: ask about scan %s that holds integration %s: %w", sc.ID, holder.ID, sc.IntegrationID, err2)
	}
	if ended == nil {
		return err
	}
	ended.FailureCause = clip(ended.FailureCause + " (found when scan " + sc.ID + " started)")
	if terr := l.Store.TakeOverScan(ctx, *ended, sc); terr != nil {
		return terr
	}
	l.Announce.Ended(ctx, *ended)
	l.log().InfoContext(ctx, "scan lock taken over", "integration_id", sc.IntegrationID, "scan_id", sc.ID,
		"old_scan_id", holder.ID, "old_status", ended.Status, "failure_cause", ended.FailureCause)
	return nil
}

// Heal ends the scan holding integrationID's lock when its execution has
// ended (or it never started within the bound) and releases the lock. It
// returns the holder as ended, or nil when the lock is free or its holder
// may still run. The reconciler calls it when a scheduled run was refused
// by the lock, so a schedule-only integration heals without an API start.
func (l *Locks) Heal(ctx context.Context, integrationID string) (*citadel.Scan, error) {
	holder, err := l.Store.RunningScan(ctx, integrationID)
	if citadel.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ended, err := l.ended(ctx, holder)
	if err != nil || ended == nil {
		return nil, err
	}
	stored, err := l.Store.FinishScan(ctx, *ended)
	if err != nil {
		return nil, err
	}
	l.log().InfoContext(ctx, "scan lock healed", "integration_id", integrationID, "old_scan_id", holder.ID,
		"old_status", stored.Status, "failure_cause", stored.FailureCause)
	if stored.Status == ended.Status && stored.FailureCause == ended.FailureCause {
		l.Announce.Ended(ctx, stored) // this heal ended it, not another ender first
	}
	return &stored, nil
}

// ended asks Step Functions about a lock holder and returns it finished
// (status, cause, finish time) when its execution has ended or it never
// started within the bound; nil while it still runs or may yet start.
func (l *Locks) ended(ctx context.Context, holder citadel.Scan) (*citadel.Scan, error) {
	arn, err := l.executionARN(holder)
	if err != nil {
		return nil, err
	}
	now := l.clock()
	out, err := l.Executions.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *sfntypes.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		// No execution by that ARN. A queued scan may be being started
		// right now; past the bound it never will be. A running scan of a
		// schedule has an execution of another name (Scheduler cannot name
		// it), so only once the execution timeout has passed is it surely
		// over.
		done := holder
		done.Status, done.FinishedAt = citadel.ScanFailed, now
		switch {
		case holder.Status == citadel.ScanQueued && now.Sub(holder.CreatedAt) >= l.bound():
			done.FailureCause = fmt.Sprintf("the scan never started: it had no execution %s after it was queued", l.bound())
		case holder.Status == citadel.ScanRunning && now.Sub(holder.StartedAt) >= ExecutionTimeout+l.bound():
			done.FailureCause = fmt.Sprintf("the scan's execution could not be found and the %s execution timeout has passed", hours(ExecutionTimeout))
		default:
			return nil, nil
		}
		l.log().InfoContext(ctx, "lock holder has no execution", "scan_id", holder.ID, "execution_arn", arn, "status", holder.Status)
		return &done, nil
	case err != nil:
		return nil, retryable(err)
	}
	status, ok := EndStatus(out.Status)
	if !ok {
		return nil, nil
	}
	done := holder
	done.Status, done.FinishedAt = status, now
	if out.StopDate != nil {
		done.FinishedAt = out.StopDate.UTC()
	}
	step := ""
	if steps, err := l.Store.ScanSteps(ctx, holder.ID); err == nil {
		step = StepAtEnd(steps)
	}
	done.FailureCause = ExecutionCause(out.Status, step, citadel.StepError{Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause)})
	l.log().InfoContext(ctx, "lock holder's execution has ended", "scan_id", holder.ID, "execution_arn", arn,
		"execution_status", out.Status, "error", aws.ToString(out.Error), "cause", aws.ToString(out.Cause))
	return &done, nil
}

// Cancel stops a scan's execution (Step Functions stops the Prowler task of
// a RunTask .sync), records the scan cancelled (by whom, when known) and
// releases the lock. Cancelling a cancelled scan returns it as it is; a scan
// that ended otherwise is a conflict naming its status.
func (l *Locks) Cancel(ctx context.Context, scanID, by string) (citadel.Scan, error) {
	sc, err := l.Store.GetScan(ctx, scanID)
	if err != nil {
		return sc, err
	}
	if done, err := endedAlready(sc); done || err != nil {
		return sc, err
	}
	arn, err := l.executionARN(sc)
	if err != nil {
		return sc, err
	}
	cause := "the scan was cancelled"
	if by != "" {
		cause += " by " + by
	}
	_, err = l.Executions.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn),
		Error: aws.String("Cancelled"), Cause: aws.String(cause)})
	var missing *sfntypes.ExecutionDoesNotExist
	if err != nil && !errors.As(err, &missing) {
		return sc, fmt.Errorf("cancel scan %s: stop its execution: %w", sc.ID, retryable(err))
	}
	done := sc
	done.Status, done.FinishedAt, done.FailureCause, done.CancelledBy = citadel.ScanCancelled, l.clock(), cause, by
	stored, err := l.Store.FinishScan(ctx, done)
	if err != nil {
		return stored, fmt.Errorf("cancel scan %s: %w", sc.ID, err)
	}
	if _, err := endedAlready(stored); err != nil {
		return stored, err // it ended another way first
	}
	l.log().InfoContext(ctx, "scan cancelled", "scan_id", sc.ID, "integration_id", sc.IntegrationID, "by", by, "execution_arn", arn)
	l.Announce.Ended(ctx, stored)
	return stored, nil
}

// executionARN is a scan's execution: the one it recorded, else the one
// named by its id in its state machine (the organization's, for an
// organization scan).
func (l *Locks) executionARN(sc citadel.Scan) (string, error) {
	if sc.ExecutionARN != "" {
		return sc.ExecutionARN, nil
	}
	sm := l.StateMachineARN
	if sc.IsOrganization() {
		if l.OrgStateMachineARN == "" {
			return "", fmt.Errorf("scan %s is an organization's, and no organization state machine is configured", sc.ID)
		}
		sm = l.OrgStateMachineARN
	}
	return ExecutionARN(sm, sc.ID)
}

// endedAlready: a cancelled scan is done (cancelling again is harmless), a
// scan that ended otherwise cannot be cancelled.
func endedAlready(sc citadel.Scan) (bool, error) {
	switch {
	case sc.Status == citadel.ScanCancelled:
		return true, nil
	case !sc.Status.Active():
		return true, citadel.Conflict("scan %s is already %s", sc.ID, sc.Status)
	}
	return false, nil
}

// retryable marks Step Functions' throttling retryable.
func retryable(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "ThrottlingException" || api.ErrorCode() == "ServiceUnavailable") {
		return citadel.Retryable(err)
	}
	return err
}

func (l *Locks) bound() time.Duration {
	if l.StartBound > 0 {
		return l.StartBound
	}
	return StartBound
}

func (l *Locks) clock() time.Time {
	if l.Clock != nil {
		return l.Clock()
	}
	return citadel.SystemClock()
}

func (l *Locks) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}
