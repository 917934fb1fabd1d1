package citadel

import (
	"encoding/json"
	"fmt"
	"time"
)

// ReviewDecision is an auditor's verdict on an evidence record.
type ReviewDecision string

const (
	ReviewApprove ReviewDecision = "approve"
	ReviewReject  ReviewDecision = "reject"
)

// EvidenceReview is one review of an evidence record: who, when, the
// decision and the comment, and the revision it judged (the record's
// revision count and latest hash then). Reviews are append-only and form a
// hash chain of their own (Hash = ChainHash(PrevHash, the SHA-256 of the
// review's canonical content)), anchored in the revision chain by
// RevisionHash; the record commits it (Evidence.ReviewCount and
// LatestReviewHash). VerifyReviews finds any edit.
type EvidenceReview struct {
	EvidenceID   string         `json:"evidence_id"`
	Number       int            `json:"number"`
	By           string         `json:"by"`
	Decision     ReviewDecision `json:"decision"`
	Comment      string         `json:"comment"`
	At           time.Time      `json:"at"`
	Revision     int            `json:"revision"`
	RevisionHash string         `json:"revision_hash,omitempty"`
	PrevHash     string         `json:"prev_hash"`
	Hash         string         `json:"hash"`
}

// Validate checks what a reviewer says: who, a decision and a comment.
func (r EvidenceReview) Validate() error {
	var errs fieldErrors
	errs.add(r.By == "", "by is required")
	errs.add(r.Decision != ReviewApprove && r.Decision != ReviewReject, fmt.Sprintf("decision %q must be approve or reject", r.Decision))
	errs.add(r.Comment == "", "comment is required")
	errs.add(r.At.IsZero(), "at is required")
	return errs.err("review")
}

// Status is the evidence status the review's decision leads to.
func (r EvidenceReview) Status() EvidenceStatus {
	if r.Decision == ReviewApprove {
		return EvidenceApproved
	}
	return EvidenceRejected
}

// content is what a review's hash covers: every field but the hashes of
// its own link, in a fixed form (JSON of a struct, the time in UTC).
func (r EvidenceReview) content() []byte {
	b, _ := json.Marshal(struct {
		EvidenceID   string         `json:"evidence_id"`
		Number       int            `json:"number"`
		By           string         `json:"by"`
		Decision     ReviewDecision `json:"decision"`
		Comment      string         `json:"comment"`
		At           string         `json:"at"`
		Revision     int            `json:"revision"`
		RevisionHash string         `json:"revision_hash"`
	}{r.EvidenceID, r.Number, r.By, r.Decision, r.Comment, r.At.UTC().Format(time.RFC3339Nano), r.Revision, r.RevisionHash})
	return b
}

func (r EvidenceReview) linkHash() string { return ChainHash(r.PrevHash, ContentSHA256(r.content())) }

// NewReview makes review n of evidence e (as read before the review),
// chained after prevHash (the record's LatestReviewHash) and anchored at
// the record's latest revision.
func NewReview(e Evidence, by string, decision ReviewDecision, comment string, at time.Time) EvidenceReview {
	r := EvidenceReview{EvidenceID: e.ID, Number: e.ReviewCount + 1, By: by, Decision: decision, Comment: comment,
		At: at.UTC(), Revision: e.RevisionCount, RevisionHash: e.LatestHash, PrevHash: e.LatestReviewHash}
	r.Hash = r.linkHash()
	return r
}

// VerifyReviews checks an evidence record's reviews, given oldest first,
// against its revisions (oldest first, as VerifyChain takes them): each
// review follows the one before, its hash covers its content, and the
// revision it judged is the one stored under that number. It returns the
// first broken link, or nil when the history holds.
func VerifyReviews(evidenceID string, reviews []EvidenceReview, revs []EvidenceRevision) *ChainBreak {
	prev := ""
	for i, r := range reviews {
		broken := func(format string, args ...any) *ChainBreak {
			return &ChainBreak{Number: r.Revision, Review: r.Number, Reason: fmt.Sprintf("review %d: ", r.Number) + fmt.Sprintf(format, args...)}
		}
		switch {
		case r.Number != i+1:
			return broken("found where review %d was expected", i+1)
		case r.EvidenceID != evidenceID:
			return broken("belongs to evidence %s", r.EvidenceID)
		case r.PrevHash != prev:
			return broken("previous hash does not match the previous review")
		case r.linkHash() != r.Hash:
			return broken("hash does not match its content (by, decision, comment, time or revision changed)")
		case r.Revision < 0 || r.Revision > len(revs):
			return broken("judged revision %d, which the evidence does not have", r.Revision)
		case r.Revision == 0 && r.RevisionHash != "",
			r.Revision > 0 && revs[r.Revision-1].Hash != r.RevisionHash:
			return broken("the revision it judged is not the one stored as revision %d", r.Revision)
		}
		prev = r.Hash
	}
	return nil
}
