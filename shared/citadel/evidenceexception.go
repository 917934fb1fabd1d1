package citadel

import (
	"encoding/json"
	"time"
)

// RevisionException is an exception's decision as an evidence revision
// records it: made when the exception starts to apply to the record's
// result (Applies) or has just stopped applying (revoked, expired, or no
// longer covering it), so the chain commits what an auditor needs to judge
// the accepted risk: who decided what and when, with the note, and what
// the exception accepted (scope, justification, owner, until when).
type RevisionException struct {
	ID            string          `json:"id"`
	Applies       bool            `json:"applies"`
	Status        ExceptionStatus `json:"status"`
	DecidedBy     string          `json:"decided_by"`
	DecidedAt     time.Time       `json:"decided_at"`
	Note          string          `json:"note,omitempty"`
	ExpiresAt     time.Time       `json:"expires_at"`
	Scope         ExceptionScope  `json:"scope"`
	Justification string          `json:"justification"`
	Owner         string          `json:"owner"`
	RequestedBy   string          `json:"requested_by"`
}

// RecordDecision is exception e's latest decision as it stands at now, for
// a revision (applies: whether it covers the revision's result). The
// decision is the history's last transition (who, when, the note); an
// approved exception past its expiry covers nothing (Covers), so it reads
// as expired by ExceptionSweeper at its expires_at, the sweep recording
// that expiry at its next run.
func (e Exception) RecordDecision(applies bool, now time.Time) RevisionException {
	x := RevisionException{ID: e.ID, Applies: applies, Status: e.Status, DecidedBy: e.DecidedBy, DecidedAt: e.DecidedAt,
		Note: e.DecisionNote, ExpiresAt: e.ExpiresAt, Scope: e.Scope, Justification: e.Justification, Owner: e.Owner, RequestedBy: e.RequestedBy}
	if n := len(e.History); n > 0 && e.History[n-1].To == e.Status {
		h := e.History[n-1]
		x.DecidedBy, x.DecidedAt, x.Note = h.By, h.At, h.Note
	}
	if e.Status == ExceptionApproved && !now.Before(e.ExpiresAt) {
		x.Status, x.DecidedBy, x.DecidedAt, x.Note = ExceptionExpired, ExceptionSweeper, e.ExpiresAt, ""
	}
	x.DecidedAt, x.ExpiresAt = x.DecidedAt.UTC(), x.ExpiresAt.UTC()
	return x
}

// canonical is what a revision's content hash covers of the decision: every
// field, in a fixed form (JSON of the struct, the times in UTC).
func (x RevisionException) canonical() []byte {
	x.DecidedAt, x.ExpiresAt = x.DecidedAt.UTC(), x.ExpiresAt.UTC()
	b, _ := json.Marshal(x)
	return b
}

// RevisionContentHash is the content hash of a revision: the SHA-256 of
// its raw output when no exception's decision is recorded (so every chain
// from before exceptions still verifies), else the SHA-256 of that hash and
// the decision's canonical form. NewRevision and VerifyChain both use it:
// an edit of the raw output or of the decision breaks the chain.
func RevisionContentHash(raw []byte, x *RevisionException) string {
	h := ContentSHA256(raw)
	if x == nil {
		return h
	}
	return ContentSHA256([]byte(h + "\nexception\n" + string(x.canonical())))
}
