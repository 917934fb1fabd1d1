package citadel

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ExceptionAction is what moves an exception from one status to the next.
type ExceptionAction string

const (
	ExceptionApprove ExceptionAction = "approve" // requested → approved
	ExceptionReject  ExceptionAction = "reject"  // requested → rejected
	ExceptionRevoke  ExceptionAction = "revoke"  // approved → revoked
	ExceptionExpire  ExceptionAction = "expire"  // requested | approved → expired, once expires_at has passed
)

// ExceptionSweeper is who records an expiry: time, not a person.
const ExceptionSweeper = "citadel"

// exceptionMoves is the state machine: from a status, what each action
// leads to. Rejected, expired and revoked lead nowhere. No status is
// reached twice, so an exception's status alone says which version of it
// a writer read (the store's writes are conditional on it).
var exceptionMoves = map[ExceptionStatus]map[ExceptionAction]ExceptionStatus{
	ExceptionRequested: {ExceptionApprove: ExceptionApproved, ExceptionReject: ExceptionRejected, ExceptionExpire: ExceptionExpired},
	ExceptionApproved:  {ExceptionRevoke: ExceptionRevoked, ExceptionExpire: ExceptionExpired},
}

// NextExceptionStatus is the status action a leads to from status from. An
// unknown action is invalid; an action the status does not allow is a
// conflict naming what it allows.
func NextExceptionStatus(from ExceptionStatus, a ExceptionAction) (ExceptionStatus, error) {
	switch a {
	case ExceptionApprove, ExceptionReject, ExceptionRevoke, ExceptionExpire:
	default:
		return "", Invalid("action %q must be approve, reject, revoke or expire", a)
	}
	to, ok := exceptionMoves[from][a]
	if ok {
		return to, nil
	}
	var allowed []string
	for _, b := range []ExceptionAction{ExceptionApprove, ExceptionReject, ExceptionRevoke, ExceptionExpire} {
		if _, ok := exceptionMoves[from][b]; ok {
			allowed = append(allowed, string(b))
		}
	}
	if len(allowed) == 0 {
		return "", Conflict("an exception %s cannot %s: %s is final", from, a, from)
	}
	return "", Conflict("an exception %s cannot %s (it can: %s)", from, a, strings.Join(allowed, ", "))
}

// legalMove says whether some action leads from one status to the other.
func legalMove(from, to ExceptionStatus) bool {
	for _, next := range exceptionMoves[from] {
		if next == to {
			return true
		}
	}
	return false
}

// ExceptionDecision is a transition someone asks for: the action, who,
// when and an optional note. Roles are the routes' (approve, reject and
// revoke need the review permission); Decide adds the rules a role cannot
// state.
type ExceptionDecision struct {
	Action ExceptionAction
	By     string
	At     time.Time
	Note   string
}

// Decide applies d to e and returns e as it is after it. Beyond the state
// machine (NextExceptionStatus: a conflict):
//   - approve and reject are never by the requester (separation of duties:
//     a forbidden error);
//   - approve, reject and revoke happen before expires_at; after it the
//     only move is expire (a conflict);
//   - expire happens at or after expires_at, never before (a conflict).
//
// Approve and reject set decided_by, decided_at and decision_note; every
// action appends its transition to the history.
func (e Exception) Decide(d ExceptionDecision) (Exception, error) {
	var errs fieldErrors
	errs.add(d.By == "", "by is required")
	errs.add(d.At.IsZero(), "at is required")
	errs.add(utf8.RuneCountInString(d.Note) > MaxExceptionNote, fmt.Sprintf("note is over %d characters", MaxExceptionNote))
	if err := errs.err("exception " + e.ID + ": " + string(d.Action)); err != nil {
		return e, err
	}
	to, err := NextExceptionStatus(e.Status, d.Action)
	if err != nil {
		return e, fmt.Errorf("exception %s: %w", e.ID, err)
	}
	at := d.At.UTC()
	expired := !at.Before(e.ExpiresAt)
	switch {
	case (d.Action == ExceptionApprove || d.Action == ExceptionReject) && d.By == e.RequestedBy:
		return e, Forbidden("exception %s was requested by %s: its requester may not %s it (another auditor or admin decides)", e.ID, d.By, d.Action)
	case d.Action == ExceptionExpire && !expired:
		return e, Conflict("exception %s expires at %s: it cannot expire before then", e.ID, e.ExpiresAt.Format(time.RFC3339))
	case d.Action != ExceptionExpire && expired:
		return e, Conflict("exception %s expired at %s: it can no longer %s (request a new one)", e.ID, e.ExpiresAt.Format(time.RFC3339), d.Action)
	}
	next := e
	next.History = append(append([]ExceptionTransition(nil), e.History...), ExceptionTransition{From: e.Status, To: to, By: d.By, At: at, Note: d.Note})
	next.Status, next.UpdatedAt = to, at
	if d.Action == ExceptionApprove || d.Action == ExceptionReject {
		next.DecidedBy, next.DecidedAt, next.DecisionNote = d.By, at, d.Note
	}
	return next, nil
}

// Covers says whether e covers result r at now: e is approved and now is
// before its expiry, it is of r's integration and check, and its scope
// takes r's asset: that asset (by id), every asset of the integration, or
// an asset whose tags hold the scope's key with its value (assetTags: the
// inventory's tags of r's asset, nil when it has none or is not in the
// inventory). It does not look at r's status: CoveringException marks only
// failing results (excepted, EffectiveStatus), and a muted result stays muted.
func (e Exception) Covers(r CheckResult, assetTags map[string]string, now time.Time) bool {
	if e.Status != ExceptionApproved || !now.Before(e.ExpiresAt) || r.IntegrationID != e.IntegrationID || r.CheckID != e.CheckID {
		return false
	}
	switch e.Scope.Kind {
	case ScopeIntegration:
		return true
	case ScopeAsset:
		return r.AssetID == e.Scope.AssetID
	case ScopeTag:
		v, ok := assetTags[e.Scope.TagKey]
		return ok && v == e.Scope.TagValue
	}
	return false
}

// CoveringException is the exception of es that applies to a failing
// result r at now: of those that cover it (Covers), the one that expires
// last, then the smallest id, so every reader picks the same one. ok is
// false when r does not fail or none covers it.
func CoveringException(es []Exception, r CheckResult, assetTags map[string]string, now time.Time) (Exception, bool) {
	var best Exception
	found := false
	if r.Status != StatusFail {
		return best, false
	}
	for _, e := range es {
		if !e.Covers(r, assetTags, now) {
			continue
		}
		if !found || e.ExpiresAt.After(best.ExpiresAt) || e.ExpiresAt.Equal(best.ExpiresAt) && e.ID < best.ID {
			best, found = e, true
		}
	}
	return best, found
}
