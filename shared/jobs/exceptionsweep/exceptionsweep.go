// Package exceptionsweep makes exceptions' decisions and expiries take
// effect without a scan. It is one Lambda function (functions/exception-sweep)
// with two triggers:
//
//   - an hourly schedule (Sweep): every requested or approved exception whose
//     expiry has passed is expired (by citadel.ExceptionSweeper), an approved
//     one's results re-marked first, and an "Exception Expired" event put on
//     the bus; every approved exception expiring within the reminder lead
//     time gets one "Exception Expiring" event, recorded on the exception
//     (RemindedAt, written conditionally) so that later sweeps skip it;
//   - the API's "Exception Approved" and "Exception Revoked" events (a rule
//     routes them here), or an input naming {integration_id, check_id}
//     (Remark): that integration's results of that check are re-marked.
//
// Re-marking (remark.go) applies the rule a scan applies
// (shared/exceptions: NewSet and Set.Mark over the approved exceptions of
// the check, live now) to the stored results of the check: each result
// whose mark changes is rewritten in place with a history entry of its
// effective status's change (fail → excepted, excepted → fail), an excepted
// → fail emitting "Check Regressed", and its evidence record gets the
// revision of its new mark (shared/evidencechain, the rule the evidence
// step applies: the exception's decision enters the record's chain); then the controls those results count
// in get their per-integration counts and posture recomputed. A result a
// scan rewrote in between is left to that scan (the write is conditional
// on the content read). The next scan compares a result whose mark differs
// from its previous digest with the stored result (shared/steps/checkresults,
// merge.go), so it does not rewrite what the sweep already did.
//
// An expiry re-marks before it decides: an exception past its expiry
// covers nothing (exceptions.NewSet), so the results are unmarked while the
// exception is still listed as expiring, and a failure on the way leaves it
// listed for the next run. A decision that loses its conditional write to
// another (a concurrent sweep) is skipped, not an error.
package exceptionsweep

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/citadelsecure/citadel/shared/busevents"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// StepName names the function in logs and metrics.
const StepName = "exception-sweep"

// Store is what the sweep needs of the table (*ddb.Store).
type Store interface {
	ListExpiringExceptions(ctx context.Context, status citadel.ExceptionStatus, before time.Time, limit int, cursor string) (citadel.Page[citadel.Exception], error)
	DecideException(ctx context.Context, id string, d citadel.ExceptionDecision) (citadel.Exception, error)
	MarkExceptionReminded(ctx context.Context, id string, at time.Time) (bool, error)
	ExceptionsOfCheck(ctx context.Context, integrationID, checkID string, status citadel.ExceptionStatus) ([]citadel.Exception, error)
	ListResultHeadsOfCheck(ctx context.Context, integrationID, checkID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error)
	RemarkResult(ctx context.Context, m ddb.ResultRemark, historyID string) (bool, error)
	GetResult(ctx context.Context, integrationID, checkID, assetID string) (citadel.CheckResult, error)
	GetException(ctx context.Context, id string) (citadel.Exception, error)
	GetEvidence(ctx context.Context, id string) (citadel.Evidence, error)
	WriteEvidence(ctx context.Context, ws []ddb.EvidenceWrite) ([]string, error)
	GetAsset(ctx context.Context, integrationID, arn string) (citadel.Asset, error)
	GetIntegration(ctx context.Context, id string) (citadel.Integration, error)
	AllControls(ctx context.Context, folderID string) ([]citadel.AppliedControl, error)
	GetControl(ctx context.Context, id string) (citadel.AppliedControl, error)
	PutControl(ctx context.Context, c citadel.AppliedControl) (citadel.AppliedControl, error)
}

// Handler is the sweep.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store    Store
	Events   busevents.Putter
	EventBus string // name or ARN; "" is the default bus
	// ReminderDays is the reminder lead time in days
	// (citadel.EnvExceptionReminderDays, parsed); 0 sends no reminder.
	ReminderDays int
}

// Input is what the function is invoked with: an EventBridge event (the
// schedule's, or an exception decision's whose detail is a
// busevents.ExceptionDetail), or a direct {integration_id, check_id}.
type Input struct {
	DetailType    string          `json:"detail-type"`
	Detail        json.RawMessage `json:"detail"`
	IntegrationID string          `json:"integration_id"`
	CheckID       string          `json:"check_id"`
}

// Outcome says what a run did.
type Outcome struct {
	Expired  int `json:"expired"`
	Skipped  int `json:"skipped"` // decisions another writer made first
	Reminded int `json:"reminded"`
	Remarked
}

// Remarked counts what re-marking did.
type Remarked struct {
	ResultsRemarked int `json:"results_remarked"`
	ResultsSkipped  int `json:"results_skipped"` // rewritten by a scan in between
	Regressions     int `json:"regression_events"`
	ControlsUpdated int `json:"controls_updated"`
	EvidenceRevised int `json:"evidence_revised"` // records given a revision of their new mark
}

func (r *Remarked) add(o Remarked) {
	r.ResultsRemarked += o.ResultsRemarked
	r.ResultsSkipped += o.ResultsSkipped
	r.Regressions += o.Regressions
	r.ControlsUpdated += o.ControlsUpdated
	r.EvidenceRevised += o.EvidenceRevised
}

// Handle runs the sweep, or the remark an event or input names.
func (h *Handler) Handle(ctx context.Context, in Input) (Outcome, error) {
	integ, check := in.IntegrationID, in.CheckID
	if slices.Contains(citadel.ExceptionDecisionDetailTypes, in.DetailType) {
		var d busevents.ExceptionDetail
		if err := json.Unmarshal(in.Detail, &d); err != nil {
			return Outcome{}, citadel.Invalid("%s: the detail of %q is not an exception's: %s", StepName, in.DetailType, err.Error())
		}
		integ, check = d.IntegrationID, d.CheckID
		if integ == "" || check == "" {
			return Outcome{}, citadel.Invalid("%s: the detail of %q names no integration_id and check_id", StepName, in.DetailType)
		}
	}
	if integ == "" && check == "" {
		return h.Sweep(ctx, h.Now())
	}
	if !citadel.ValidID(integ) || !citadel.ValidID(check) {
		return Outcome{}, citadel.Invalid("%s: a remark needs an integration_id and a check_id (got %q, %q)", StepName, integ, check)
	}
	r, err := h.Remark(ctx, integ, check)
	return Outcome{Remarked: r}, err
}

// Sweep expires the exceptions whose expiry is before now and sends the
// reminders due (see the package comment).
func (h *Handler) Sweep(ctx context.Context, now time.Time) (Outcome, error) {
	var out Outcome
	log := h.Logger().With("step", StepName)
	for _, status := range []citadel.ExceptionStatus{citadel.ExceptionApproved, citadel.ExceptionRequested} {
		due, err := h.expiring(ctx, status, now)
		if err != nil {
			return out, err
		}
		for _, e := range due {
			if status == citadel.ExceptionApproved {
				r, err := h.remark(ctx, e.IntegrationID, e.CheckID, now)
				out.add(r)
				if err != nil {
					return out, fmt.Errorf("expire exception %s: %w", e.ID, err)
				}
			}
			next, err := h.Store.DecideException(ctx, e.ID, citadel.ExceptionDecision{Action: citadel.ExceptionExpire, By: citadel.ExceptionSweeper, At: now})
			if citadel.IsConflict(err) {
				out.Skipped++
				log.InfoContext(ctx, "exception decided by another writer first", "exception_id", e.ID, "error", err.Error())
				continue
			}
			if err != nil {
				return out, fmt.Errorf("expire exception %s: %w", e.ID, err)
			}
			if err := h.put(ctx, busevents.Exception(next, citadel.EventExceptionExpired, h.EventBus, now)); err != nil {
				return out, fmt.Errorf("exception %s expired: %w", e.ID, err)
			}
			out.Expired++
			log.InfoContext(ctx, "exception expired", "exception_id", e.ID, "from", e.Status, "integration_id", e.IntegrationID, "check_id", e.CheckID)
		}
	}
	n, err := h.remind(ctx, now)
	out.Reminded = n
	return out, err
}

// expiring lists every exception of status expiring before `before`.
func (h *Handler) expiring(ctx context.Context, status citadel.ExceptionStatus, before time.Time) ([]citadel.Exception, error) {
	var es []citadel.Exception
	for e, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Exception], error) {
		return h.Store.ListExpiringExceptions(ctx, status, before, 100, cursor)
	}) {
		if err != nil {
			return nil, fmt.Errorf("%s exceptions expiring before %s: %w", status, before.Format(time.RFC3339), err)
		}
		es = append(es, e)
	}
	return es, nil
}

// remind sends the reminder of every approved exception that expires
// within the lead time and has none yet: the event first, then the record
// (conditional: once recorded, no later sweep sends it again; a failure in
// between may repeat it, with the same detail id).
func (h *Handler) remind(ctx context.Context, now time.Time) (int, error) {
	if h.ReminderDays <= 0 {
		return 0, nil
	}
	due, err := h.expiring(ctx, citadel.ExceptionApproved, now.Add(time.Duration(h.ReminderDays)*24*time.Hour))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range due {
		if !e.RemindedAt.IsZero() || !now.Before(e.ExpiresAt) {
			continue
		}
		if err := h.put(ctx, busevents.Exception(e, citadel.EventExceptionExpiring, h.EventBus, now)); err != nil {
			return n, fmt.Errorf("remind of exception %s: %w", e.ID, err)
		}
		sent, err := h.Store.MarkExceptionReminded(ctx, e.ID, now)
		if err != nil {
			return n, err
		}
		if sent {
			n++
		}
	}
	return n, nil
}

func (h *Handler) put(ctx context.Context, entries ...ebtypes.PutEventsRequestEntry) error {
	for len(entries) > 0 {
		k := min(len(entries), 10)
		if err := busevents.Put(ctx, h.Events, entries[:k]); err != nil {
			return err
		}
		entries = entries[k:]
	}
	return nil
}
