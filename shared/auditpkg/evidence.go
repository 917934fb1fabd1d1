package auditpkg

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
)

// checkEvidenceFile checks one evidence file: it parses, it is the file of
// the record it holds, the revision chain and the review history hold
// (citadel.VerifyChain, citadel.VerifyReviews), and the record's counts and
// latest hashes are the chains' heads. It says whether the file held a
// record.
func checkEvidenceFile(rep *Report, name string, data []byte) bool {
	if !strings.HasSuffix(name, ".json") || strings.Contains(strings.TrimPrefix(name, EvidenceDir), "/") {
		rep.add(name, "is not an evidence record's file (%s<evidence id>.json)", EvidenceDir)
		return false
	}
	var rec export.EvidenceRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		rep.add(name, "does not parse as an evidence record: %v", err)
		return false
	}
	e := rec.Evidence
	if want := EvidencePath(e.ID); name != want {
		rep.add(name, "holds evidence %q, whose file is %s", e.ID, want)
	}
	for _, r := range rec.Revisions {
		if r.EvidenceID != e.ID {
			rep.add(name, "revision %d: belongs to evidence %q", r.Number, r.EvidenceID)
		}
	}
	if b := citadel.VerifyChain(rec.Revisions); b != nil {
		reason := b.Reason
		if !strings.HasPrefix(reason, "revision ") {
			reason = fmt.Sprintf("revision %d: %s", b.Number, reason)
		}
		rep.add(name, "%s", reason)
	}
	if b := citadel.VerifyReviews(e.ID, rec.Reviews, rec.Revisions); b != nil {
		rep.add(name, "%s", b.Reason)
	}
	revHead, revHeadOf := "", "it has no revision"
	if n := len(rec.Revisions); n > 0 {
		revHead = rec.Revisions[n-1].Hash
		revHeadOf = fmt.Sprintf("revision %d's hash %s", rec.Revisions[n-1].Number, revHead)
	}
	if e.RevisionCount != len(rec.Revisions) {
		rep.add(name, "revision_count %d does not match the %d revisions of its chain", e.RevisionCount, len(rec.Revisions))
	}
	if e.LatestHash != revHead {
		rep.add(name, "latest_hash %s does not match the head of its revision chain (%s)", orNone(e.LatestHash), revHeadOf)
	}
	reviewHead, reviewHeadOf := "", "it has no review"
	if n := len(rec.Reviews); n > 0 {
		reviewHead = rec.Reviews[n-1].Hash
		reviewHeadOf = fmt.Sprintf("review %d's hash %s", rec.Reviews[n-1].Number, reviewHead)
	}
	if e.ReviewCount != len(rec.Reviews) {
		rep.add(name, "review_count %d does not match the %d reviews of its history", e.ReviewCount, len(rec.Reviews))
	}
	if e.LatestReviewHash != reviewHead {
		rep.add(name, "latest_review_hash %s does not match the head of its review history (%s)", orNone(e.LatestReviewHash), reviewHeadOf)
	}
	return true
}
