package orgscan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Executions is what the summary asks Step Functions (*sfn.Client): how a
// member's child execution ended, when its scan record does not say.
type Executions interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// DefaultReaders bounds the member scans read at once.
const DefaultReaders = 16

// Summarizer is org-summary, the organization scan's last state.
type Summarizer struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store      Store
	Executions Executions
	// StateMachineARN is the account scan state machine: a member scan's
	// child execution is named by its id there.
	StateMachineARN string
	// Announce, when set, puts the end of the organization scan (and of a
	// member scan it ends) on the drift bus.
	Announce *scanend.Announcer
	// Readers bounds the member scans read at once; 0 is DefaultReaders.
	Readers int
}

// Handle records the organization scan's outcome: its summary (the
// members' summaries added up, citadel.OrgScanSummary), succeeded, or
// failed with the cause when one of its own states (org-plan, org-sync,
// the Map) failed; its lock released. A member's failure is in the
// summary, not the organization scan's status. A run that failed before
// its scan was recorded (a scheduled run refused by the lock) records
// nothing.
func (s *Summarizer) Handle(ctx context.Context, in citadel.OrgSummaryInput) (citadel.OrgSummaryOutput, error) {
	integrationID, scanID := in.ScanRef()
	if !citadel.ValidID(scanID) || !citadel.ValidID(integrationID) {
		return citadel.OrgSummaryOutput{}, citadel.Invalid("org summary: the state names no scan (scan.scan_id and scan.integration_id are required)")
	}
	sc, err := s.Store.GetScanOf(ctx, integrationID, scanID)
	if citadel.IsNotFound(err) && in.Error != nil {
		cause := failureCause(in)
		s.Logger().WarnContext(ctx, "organization scan failed before it was recorded", "scan_id", scanID, "integration_id", integrationID,
			"error", in.Error.Error, "cause", cause)
		return citadel.OrgSummaryOutput{ScanID: scanID, Status: citadel.ScanFailed,
			Summary: citadel.ScanSummary{Message: "Organization scan failed: " + cause}}, nil
	}
	if err != nil {
		return citadel.OrgSummaryOutput{}, fail(err, "org summary scan %s", scanID)
	}
	if !sc.Status.Active() {
		return recorded(sc), nil // a retried summary, or the scan was cancelled
	}
	roll, total, err := s.rollUp(ctx, in)
	if err != nil {
		return citadel.OrgSummaryOutput{}, fail(err, "org summary scan %s", scanID)
	}
	now := s.Now()
	start := cmp.Or(in.Plan.StartedAt, sc.StartedAt, sc.CreatedAt)
	total.DurationSeconds = now.Sub(start).Round(time.Millisecond).Seconds()
	sc.FinishedAt = now
	if in.Error != nil {
		sc.Status, sc.FailureCause = citadel.ScanFailed, failureCause(in)
		total.Message = "Organization scan failed: " + sc.FailureCause
	} else {
		sc.Status = citadel.ScanSucceeded
		total.Success = roll.Failed == 0
		total.Message = roll.Message(total.ChecksFailed)
	}
	sc.Summary, sc.Organization = &total, &roll
	stored, err := s.Store.FinishScan(ctx, sc)
	if err != nil {
		return citadel.OrgSummaryOutput{}, fail(err, "org summary scan %s", scanID)
	}
	if stored.Status != sc.Status {
		return recorded(stored), nil // it ended another way first (cancelled)
	}
	s.Logger().InfoContext(ctx, "organization scan finished", "scan_id", sc.ID, "integration_id", sc.IntegrationID, "status", sc.Status,
		"members", roll.Members, "succeeded", roll.Succeeded, "failed", roll.Failed, "skipped", roll.Skipped, "failure_cause", sc.FailureCause)
	s.Announce.Ended(ctx, stored)
	return citadel.OrgSummaryOutput{ScanID: sc.ID, Status: sc.Status, Summary: total, Organization: roll}, nil
}

// recorded is the outcome of an organization scan that has already ended.
func recorded(sc citadel.Scan) citadel.OrgSummaryOutput {
	out := citadel.OrgSummaryOutput{ScanID: sc.ID, Status: sc.Status}
	if sc.Summary != nil {
		out.Summary = *sc.Summary
	}
	if sc.Organization != nil {
		out.Organization = *sc.Organization
	}
	return out
}

// failureCause says which of the organization scan's own states failed,
// from what the state holds: no plan, org-plan; no sync, org-sync; else
// the Map.
func failureCause(in citadel.OrgSummaryInput) string {
	step := citadel.StepOrgMember
	switch {
	case in.Plan.ScanID == "":
		step = citadel.StepOrgPlan
	case in.Sync.IntegrationID == "":
		step = citadel.StepOrgSync
	}
	var e citadel.StepError
	if in.Error != nil {
		e = *in.Error
	}
	return scanend.StepCause(step, e)
}

// memberScan is one member to scan, what the Map says became of it (zero
// when the Map ended before it), and its scan record (nil when it has
// none: it never started).
type memberScan struct {
	id  string
	res citadel.OrgMemberResult
	rec *citadel.Scan
}

// rollUp reads the scan record of every member the sync listed to scan
// but the skipped ones, by its key (citadel.MemberScanID), ending one whose
// execution never ran or ended unseen (settle), and adds them up. The
// sync's list is the one source of who was to be scanned: a member the
// Map never reached (the Map failed) counts as failed.
func (s *Summarizer) rollUp(ctx context.Context, in citadel.OrgSummaryInput) (citadel.OrgScanSummary, citadel.ScanSummary, error) {
	results := map[string]citadel.OrgMemberResult{}
	for _, r := range in.Members {
		results[r.IntegrationID] = r
	}
	members := make([]memberScan, len(in.Sync.Scan))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cmp.Or(s.Readers, DefaultReaders))
	for i, id := range in.Sync.Scan {
		members[i] = memberScan{id: id, res: results[id]}
		if members[i].res.Status == citadel.MemberSkipped {
			continue
		}
		g.Go(func() error {
			scanID := citadel.MemberScanID(in.Scan.ScanID, id)
			rec, err := s.Store.GetScanOf(gctx, id, scanID)
			if citadel.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return fail(err, "member scan %s", scanID)
			}
			if rec.Status.Active() {
				if rec, err = s.settle(gctx, rec, members[i].res); err != nil {
					return err
				}
			}
			members[i].rec = &rec
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return citadel.OrgScanSummary{}, citadel.ScanSummary{}, err
	}

	roll := citadel.OrgScanSummary{Members: len(members), Sync: in.Sync.Counts()}
	var total citadel.ScanSummary
	var failed, skipped []citadel.OrgMemberOutcome
	for _, m := range members {
		o := citadel.OrgMemberOutcome{IntegrationID: m.id, Status: string(citadel.ScanFailed), Reason: m.res.Reason}
		if m.rec != nil {
			o.ScanID = m.rec.ID
			if m.rec.Summary != nil {
				total = total.Add(*m.rec.Summary) // a failed scan's partial counts too
			}
		}
		switch {
		case m.res.Status == citadel.MemberSkipped:
			roll.Skipped++
			o.Status = string(citadel.MemberSkipped)
			skipped = append(skipped, o)
			continue
		case m.rec == nil && m.res.Status == "":
			o.Reason = "the organization scan's Map ended before it started the member's scan"
		case m.rec == nil:
			// it never started: the result's reason
		case m.rec.Status == citadel.ScanSucceeded:
			roll.Succeeded++
			continue
		case m.rec.Status.Active():
			o.Status, o.Reason = string(m.rec.Status), "still "+string(m.rec.Status)+" when the organization scan ended"
		default:
			o.Status, o.Reason = string(m.rec.Status), m.rec.FailureCause
		}
		roll.Failed++
		o.Reason = citadel.ClipReason(o.Reason)
		failed = append(failed, o)
	}
	var err error
	if roll.FailedAccounts, err = s.listed(ctx, failed); err != nil {
		return roll, total, err
	}
	roll.SkippedAccounts, err = s.listed(ctx, skipped)
	return roll, total, err
}

// listed names each outcome's account (from its integration's record,
// archived ones too), sorted by account, the first MaxOrgScanListed.
func (s *Summarizer) listed(ctx context.Context, outs []citadel.OrgMemberOutcome) ([]citadel.OrgMemberOutcome, error) {
	slices.SortFunc(outs, func(a, b citadel.OrgMemberOutcome) int { return strings.Compare(a.IntegrationID, b.IntegrationID) })
	outs = outs[:min(len(outs), citadel.MaxOrgScanListed)]
	for i := range outs {
		in, _, err := s.Store.GetIntegrationRecord(ctx, outs[i].IntegrationID)
		switch {
		case citadel.IsNotFound(err):
			continue
		case err != nil:
			return nil, fail(err, "integration %s", outs[i].IntegrationID)
		}
		outs[i].AccountID = in.AccountID
	}
	slices.SortFunc(outs, func(a, b citadel.OrgMemberOutcome) int {
		return cmp.Or(strings.Compare(a.AccountID, b.AccountID), strings.Compare(a.IntegrationID, b.IntegrationID))
	})
	if len(outs) == 0 {
		return nil, nil
	}
	return outs, nil
}

// settle ends a member scan still active after the Map: its child
// execution never started (the start was refused: failed, with the Map's
// reason), or ended without the scan recording it (as the reconciler
// would); one still running is left as it is.
func (s *Summarizer) settle(ctx context.Context, rec citadel.Scan, res citadel.OrgMemberResult) (citadel.Scan, error) {
	arn := rec.ExecutionARN
	if arn == "" {
		var err error
		if arn, err = scanend.ExecutionARN(s.StateMachineARN, rec.ID); err != nil {
			return rec, err
		}
	}
	done := rec
	out, err := s.Executions.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *sfntypes.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		done.Status, done.FinishedAt = citadel.ScanFailed, s.Now()
		done.FailureCause = "the organization scan could not start the member scan's execution"
		if res.Reason != "" {
			done.FailureCause += ": " + res.Reason
		}
	case awsx.IsThrottle(err):
		return rec, citadel.Retryable(fmt.Errorf("describe execution of member scan %s: %w", rec.ID, err))
	case err != nil:
		return rec, fmt.Errorf("describe execution of member scan %s: %w", rec.ID, err)
	default:
		status, ended := scanend.EndStatus(out.Status)
		if !ended {
			return rec, nil
		}
		done.Status, done.FinishedAt = status, cmp.Or(aws.ToTime(out.StopDate).UTC(), s.Now())
		done.FailureCause = scanend.ExecutionCause(out.Status, s.stepAtEnd(ctx, rec.ID),
			citadel.StepError{Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause)})
	}
	stored, err := s.Store.FinishScan(ctx, done)
	if err != nil {
		return rec, fail(err, "end member scan %s", rec.ID)
	}
	if stored.Status == done.Status && stored.FailureCause == done.FailureCause {
		s.Logger().InfoContext(ctx, "member scan ended by the organization summary", "scan_id", rec.ID,
			"integration_id", rec.IntegrationID, "status", stored.Status, "failure_cause", stored.FailureCause)
		s.Announce.Ended(ctx, stored)
	}
	return stored, nil
}

// stepAtEnd is the step a member scan was in when its execution ended.
func (s *Summarizer) stepAtEnd(ctx context.Context, scanID string) string {
	steps, err := s.Store.ScanSteps(ctx, scanID)
	if err != nil {
		return ""
	}
	return scanend.StepAtEnd(steps)
}
