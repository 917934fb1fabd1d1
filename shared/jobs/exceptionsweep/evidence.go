package exceptionsweep

import (
	"context"
	"fmt"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/evidencechain"
)

// This file carries a re-mark into the result's evidence record, as the
// evidence step would at the next scan (shared/evidencechain, the one
// rule): a revision recording the decision of the exception that now
// applies, or of the one that has just stopped applying.

// reviseEvidence gives the evidence record of the re-marked result r (its
// head) the revision of its new mark, read whole, in scan r.ScanID (the
// scan whose finding it is) at now; it reports whether it wrote one. A
// result with no record yet is left to the next scan's evidence step,
// which creates it with the mark. The write is conditional as the step's;
// a record changed concurrently is re-read and redone.
func (h *Handler) reviseEvidence(ctx context.Context, dec *evidencechain.Decisions, r citadel.CheckResult, now time.Time) (bool, error) {
	id := citadel.EvidenceID(r.IntegrationID, r.CheckID, r.AssetID)
	whole, err := h.Store.GetResult(ctx, r.IntegrationID, r.CheckID, r.AssetID)
	if err != nil {
		return false, fmt.Errorf("evidence %s: result of %s on %s: %w", id, r.CheckID, r.AssetARN, err)
	}
	hash := evidencechain.ResultHash(whole)
	for attempt := 1; ; attempt++ {
		e, err := h.Store.GetEvidence(ctx, id)
		if citadel.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("evidence %s: %w", id, err)
		}
		if !evidencechain.Needed(&e, whole, hash) {
			return false, nil
		}
		x, err := dec.For(ctx, &e, whole)
		if err != nil {
			return false, err
		}
		next, rev := evidencechain.Revise(e, whole, hash, x, whole.ScanID, now)
		conflicts, err := h.Store.WriteEvidence(ctx, []ddb.EvidenceWrite{{Evidence: next, Revision: &rev, PrevRevisionCount: e.RevisionCount, PrevStatus: e.Status}})
		if err != nil {
			return false, fmt.Errorf("evidence %s: %w", id, err)
		}
		if len(conflicts) == 0 {
			return true, nil
		}
		if attempt == maxAttempts {
			return false, citadel.Conflict("evidence %s keeps changing concurrently", id)
		}
	}
}
