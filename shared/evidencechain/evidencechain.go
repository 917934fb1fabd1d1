// Package evidencechain is the one rule of when an evidence record gains a
// revision and what the revision records, shared by its two writers: the
// evidence step at scan time (shared/steps/evidence) and the exception
// sweep's re-mark without a scan (shared/jobs/exceptionsweep).
//
// A record gains a revision when its result's content changes or when the
// result's exception mark does: an exception starting to apply (fail →
// excepted), stopping (excepted → fail: revoked, expired, or no longer
// covering it), or another replacing it. The revision records the decision
// of the exception that applies or, when none does any more, of the one
// that has just stopped applying (citadel.RevisionException), and its
// content hash covers that decision with the raw output
// (citadel.RevisionContentHash). The record then carries the applying
// exception's id and the result's effective status, and an approved,
// rejected or expired record goes back in review.
package evidencechain

import (
	"context"
	"fmt"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Needed reports whether res, of content hash hash, needs a new revision
// of its record e (nil: no record yet).
func Needed(e *citadel.Evidence, res citadel.CheckResult, hash string) bool {
	return e == nil || e.ResultContentHash != hash || e.ExceptionID != res.ExceptionID
}

// Exceptions reads an exception by id (*ddb.Store).
type Exceptions interface {
	GetException(ctx context.Context, id string) (citadel.Exception, error)
}

// Decisions resolves the exception decisions that revisions record,
// reading each exception at most once.
type Decisions struct {
	store Exceptions
	now   time.Time
	known map[string]citadel.Exception
}

// NewDecisions resolves decisions as they stand at now, from known (the
// exceptions the caller holds already) and else from store.
func NewDecisions(store Exceptions, now time.Time, known ...citadel.Exception) *Decisions {
	d := &Decisions{store: store, now: now, known: make(map[string]citadel.Exception, len(known))}
	for _, e := range known {
		d.known[e.ID] = e
	}
	return d
}

// For is the decision the next revision of e (nil: none yet) records for
// res: the exception that applies to res, else the one e says applied,
// which has just stopped; nil when neither. An exception no longer stored
// is recorded by its id alone.
func (d *Decisions) For(ctx context.Context, e *citadel.Evidence, res citadel.CheckResult) (*citadel.RevisionException, error) {
	id, applies := res.ExceptionID, true
	if id == "" && e != nil {
		id, applies = e.ExceptionID, false
	}
	if id == "" {
		return nil, nil
	}
	x, ok := d.known[id]
	if !ok {
		got, err := d.store.GetException(ctx, id)
		switch {
		case citadel.IsNotFound(err):
			return &citadel.RevisionException{ID: id, Applies: applies}, nil
		case err != nil:
			return nil, fmt.Errorf("exception %s of evidence of %s on %s: %w", id, res.CheckID, res.AssetARN, err)
		}
		d.known[id], x = got, got
	}
	r := x.RecordDecision(applies, d.now)
	return &r, nil
}

// Revise makes e's next revision (number RevisionCount+1, chained to its
// LatestHash) of res, whose raw output must be read whole, of content hash
// hash, recording decision x (Decisions.For), in scan scanID at now; it
// returns e brought up to it.
func Revise(e citadel.Evidence, res citadel.CheckResult, hash string, x *citadel.RevisionException, scanID string, now time.Time) (citadel.Evidence, citadel.EvidenceRevision) {
	var last *citadel.EvidenceRevision
	if e.RevisionCount > 0 {
		last = &citadel.EvidenceRevision{Number: e.RevisionCount, Hash: e.LatestHash}
	}
	rev := citadel.NewExceptionRevision(e.ID, e.RevisionCount+1, scanID, res.RawOutput, x, last, now)
	e.RevisionCount, e.LatestHash, e.ResultContentHash = rev.Number, rev.Hash, hash
	e.ResultStatus, e.ExceptionID = res.Effective(), res.ExceptionID
	switch e.Status {
	case citadel.EvidenceApproved, citadel.EvidenceRejected, citadel.EvidenceExpired:
		e.Status = citadel.EvidenceInReview
	}
	e.UpdatedAt = now
	return e, rev
}

// ResultHash is the content hash a record keeps of its result: the
// result's ContentHash, or the SHA-256 of its raw output when it has none.
func ResultHash(res citadel.CheckResult) string {
	if res.ContentHash != "" {
		return res.ContentHash
	}
	return citadel.ContentSHA256(res.RawOutput)
}
