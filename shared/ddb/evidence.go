package ddb

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/guregu/dynamo/v2"
	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/citadel"
)

type evidenceItem struct {
	item
	citadel.Evidence
}

func newEvidenceItem(e citadel.Evidence) evidenceItem {
	it := newItem(TypeEvidence, evidenceKey(e.ID)).withGSI1(evidenceOfFolderGSI(e.FolderID, string(e.Status), e.ID))
	return evidenceItem{it, e}
}

type revisionItem struct {
	item
	EvidenceID  string
	Number      int
	ScanID      string
	Raw         bounded
	Exception   *citadel.RevisionException `dynamo:",omitempty"`
	ContentHash string
	PrevHash    string
	Hash        string
	CreatedAt   time.Time
}

// GetEvidence reads an evidence record by id (citadel.EvidenceID).
func (s *Store) GetEvidence(ctx context.Context, id string) (citadel.Evidence, error) {
	var it evidenceItem
	err := s.get(ctx, evidenceKey(id), &it, "evidence "+id)
	return it.Evidence, err
}

// GetEvidenceBatch reads many evidence records by id (strongly consistent,
// 100 per request); missing ids are absent from the map.
func (s *Store) GetEvidenceBatch(ctx context.Context, ids []string) (map[string]citadel.Evidence, error) {
	out := make(map[string]citadel.Evidence, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = evidenceKey(id)
	}
	var items []evidenceItem
	if err := s.batchGet(ctx, keys, &items, "evidence records"); err != nil {
		return nil, err
	}
	for _, it := range items {
		out[it.ID] = it.Evidence
	}
	return out, nil
}

// ListEvidence lists a folder's evidence with one status ("" for every
// status), a page at a time.
func (s *Store) ListEvidence(ctx context.Context, folderID string, status citadel.EvidenceStatus, limit int, cursor string) (citadel.Page[citadel.Evidence], error) {
	g := evidenceOfFolderGSI(folderID, string(status), "")
	q := s.byGSI1(g.PK)
	if status != "" {
		q = q.Range(AttrGSI1SK, dynamo.BeginsWith, g.SK)
	}
	var items []evidenceItem
	// A cursor is bound to the status too: another status's key is outside this query's range.
	next, err := s.queryPage(ctx, q, limit, cursor, &items, fmt.Sprintf("evidence of folder %s with status %q", folderID, status))
	page := citadel.Page[citadel.Evidence]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.Evidence)
	}
	return page, err
}

// EvidenceWrite is one evidence record to write and the revision it gains, if
// any. Create requires that the record does not exist yet; otherwise the
// stored record must still have PrevRevisionCount revisions, PrevStatus and
// the Evidence's ReviewCount (which only a review changes), so a concurrent
// review or scan is never overwritten.
type EvidenceWrite struct {
	Evidence          citadel.Evidence
	Revision          *citadel.EvidenceRevision
	Create            bool
	PrevRevisionCount int
	PrevStatus        citadel.EvidenceStatus
}

func (w EvidenceWrite) validate() error {
	e := w.Evidence
	if err := e.Validate(); err != nil {
		return err
	}
	if e.FolderID == "" {
		return citadel.Invalid("evidence %s: folder_id is required", e.ID)
	}
	if r := w.Revision; r != nil {
		switch {
		case r.EvidenceID != e.ID:
			return citadel.Invalid("evidence %s: revision belongs to %s", e.ID, r.EvidenceID)
		case r.Number != e.RevisionCount || r.Number != w.PrevRevisionCount+1:
			return citadel.Invalid("evidence %s: revision %d does not follow %d (revision_count %d)", e.ID, r.Number, w.PrevRevisionCount, e.RevisionCount)
		case r.Hash != e.LatestHash:
			return citadel.Invalid("evidence %s: latest_hash is not the new revision's hash", e.ID)
		}
	} else if e.RevisionCount != w.PrevRevisionCount || w.Create {
		return citadel.Invalid("evidence %s: a new record or a new revision count needs its revision", e.ID)
	}
	return nil
}

func (s *Store) revisionItem(ctx context.Context, r citadel.EvidenceRevision) (revisionItem, error) {
	raw, err := s.bound(ctx, "evidence", r.RawOutput)
	if err != nil {
		return revisionItem{}, err
	}
	return revisionItem{newItem(TypeEvidenceRevision, evidenceRevisionKey(r.EvidenceID, r.Number)),
		r.EvidenceID, r.Number, r.ScanID, raw, r.Exception, r.ContentHash, r.PrevHash, r.Hash, r.CreatedAt}, nil
}

// WriteEvidence writes evidence records with their new revisions. The
// record is the commit point of its chain: each revision is written first,
// then the record that counts it (RevisionCount, LatestHash); a revision
// beyond a record's count is uncommitted and ignored by EvidenceRevisions and
// VerifyEvidence, and the next write of that number replaces it. So record
// and revision change together without a transaction (which would double
// the write units, and which the local emulator runs by copying the table).
//
// Creates are checked with a consistent batch read and written in batches;
// updates are conditional puts (revision count, status and review count as read, so a
// concurrent review is never overwritten). The ids of writes that find the
// record changed (or, for a create, existing) are returned as conflicts, for
// the caller to re-read and redo; nothing of theirs is committed.
func (s *Store) WriteEvidence(ctx context.Context, ws []EvidenceWrite) (conflicts []string, err error) {
	var creates, updates []EvidenceWrite
	for _, w := range ws {
		if err := w.validate(); err != nil {
			return nil, err
		}
		if w.Create {
			creates = append(creates, w)
		} else {
			updates = append(updates, w)
		}
	}
	if len(creates) > 0 {
		keys := make([]Key, len(creates))
		for i, w := range creates {
			keys[i] = evidenceKey(w.Evidence.ID)
		}
		var found []evidenceItem
		if err := s.batchGet(ctx, keys, &found, "new evidence records"); err != nil {
			return nil, err
		}
		exists := map[string]bool{}
		for _, it := range found {
			exists[it.ID] = true
		}
		kept := creates[:0]
		for _, w := range creates {
			if exists[w.Evidence.ID] {
				conflicts = append(conflicts, w.Evidence.ID)
			} else {
				kept = append(kept, w)
			}
		}
		creates = kept
	}
	var revs []any
	for _, w := range append(slices.Clone(creates), updates...) {
		if w.Revision != nil {
			it, err := s.revisionItem(ctx, *w.Revision)
			if err != nil {
				return conflicts, err
			}
			revs = append(revs, it)
		}
	}
	if err := s.batchPut(ctx, revs); err != nil {
		return conflicts, err
	}
	records := make([]any, len(creates))
	for i, w := range creates {
		records[i] = newEvidenceItem(w.Evidence)
	}
	if err := s.batchPut(ctx, records); err != nil {
		return conflicts, err
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, w := range updates {
		g.Go(func() error {
			cond, args := unchangedSince(citadel.Evidence{RevisionCount: w.PrevRevisionCount, Status: w.PrevStatus, ReviewCount: w.Evidence.ReviewCount})
			err := s.put(gctx, newEvidenceItem(w.Evidence), cond, args...)
			if citadel.IsConflict(err) {
				mu.Lock()
				conflicts = append(conflicts, w.Evidence.ID)
				mu.Unlock()
				return nil
			}
			return err
		})
	}
	return conflicts, g.Wait()
}

// EvidenceRevisions lists an evidence record's revisions, newest first.
// Only committed revisions (up to the record's revision count) are listed.
func (s *Store) EvidenceRevisions(ctx context.Context, evidenceID string) ([]citadel.EvidenceRevision, error) {
	e, err := s.GetEvidence(ctx, evidenceID)
	if err != nil {
		return nil, err
	}
	return s.revisions(ctx, evidenceID, e.RevisionCount, dynamo.Descending)
}

// EvidenceChains lists a record's revisions and reviews, oldest first, up
// to the counts the record commits (e as already read: no read of it again).
func (s *Store) EvidenceChains(ctx context.Context, e citadel.Evidence) ([]citadel.EvidenceRevision, []citadel.EvidenceReview, error) {
	revs, err := s.revisions(ctx, e.ID, e.RevisionCount, dynamo.Ascending)
	if err != nil {
		return nil, nil, err
	}
	reviews, err := s.reviews(ctx, e.ID, e.ReviewCount, dynamo.Ascending)
	return revs, reviews, err
}

func (s *Store) revisions(ctx context.Context, evidenceID string, upTo int, order dynamo.Order) ([]citadel.EvidenceRevision, error) {
	var items []revisionItem
	q := s.byPK(evidenceKey(evidenceID).PK).Range(AttrSK, dynamo.BeginsWith, evidenceRevisionSKPrefix()).Order(order)
	if err := s.queryAll(ctx, q, &items, "revisions of evidence "+evidenceID); err != nil {
		return nil, err
	}
	items = slices.DeleteFunc(items, func(it revisionItem) bool { return it.Number > upTo })
	out := make([]citadel.EvidenceRevision, len(items))
	for i, it := range items {
		raw, err := s.unbound(ctx, it.Raw)
		if err != nil {
			return nil, fmt.Errorf("revision %d of evidence %s: %w", it.Number, evidenceID, err)
		}
		out[i] = citadel.EvidenceRevision{EvidenceID: it.EvidenceID, Number: it.Number, ScanID: it.ScanID, RawOutput: raw,
			Exception: it.Exception, ContentHash: it.ContentHash, PrevHash: it.PrevHash, Hash: it.Hash, CreatedAt: it.CreatedAt}
		if it.Raw.Truncated {
			out[i].RawOutput = nil // cannot be verified; VerifyEvidence says so
		}
	}
	return out, nil
}

// VerifyEvidence checks an evidence record's revision chain from the first
// revision to the record's latest hash and returns the first broken link, or
// nil when the chain holds.
func (s *Store) VerifyEvidence(ctx context.Context, id string) (*citadel.ChainBreak, error) {
	e, err := s.GetEvidence(ctx, id)
	if err != nil {
		return nil, err
	}
	revs, err := s.revisions(ctx, id, e.RevisionCount, dynamo.Ascending)
	if err != nil {
		return nil, err
	}
	if b := citadel.VerifyChain(revs); b != nil {
		return b, nil
	}
	switch {
	case len(revs) != e.RevisionCount:
		return &citadel.ChainBreak{Number: len(revs), Reason: fmt.Sprintf("%d revisions stored, the evidence records %d", len(revs), e.RevisionCount)}, nil
	case len(revs) > 0 && revs[len(revs)-1].Hash != e.LatestHash:
		return &citadel.ChainBreak{Number: len(revs), Reason: "latest revision's hash does not match the evidence's latest_hash"}, nil
	}
	reviews, err := s.reviews(ctx, id, e.ReviewCount, dynamo.Ascending)
	if err != nil {
		return nil, err
	}
	if b := citadel.VerifyReviews(id, reviews, revs); b != nil {
		return b, nil
	}
	switch n := len(reviews); {
	case n != e.ReviewCount:
		return &citadel.ChainBreak{Review: n, Reason: fmt.Sprintf("%d reviews stored, the evidence records %d", n, e.ReviewCount)}, nil
	case n > 0 && reviews[n-1].Hash != e.LatestReviewHash:
		return &citadel.ChainBreak{Number: reviews[n-1].Revision, Review: n, Reason: "latest review's hash does not match the evidence's latest_review_hash"}, nil
	}
	return nil, nil
}

type reviewItem struct {
	item
	citadel.EvidenceReview
}

// unchangedSince is the condition of a write over an evidence record read
// as e: its revisions, status and reviews are still what was read, so a
// concurrent scan or review is never overwritten.
func unchangedSince(e citadel.Evidence) (string, []any) {
	cond, args := "'RevisionCount' = ? AND 'Status' = ? AND ", []any{e.RevisionCount, e.Status, e.ReviewCount}
	if e.ReviewCount == 0 { // records from before review histories have no count
		return cond + "(attribute_not_exists('ReviewCount') OR 'ReviewCount' = ?)", args
	}
	return cond + "'ReviewCount' = ?", args
}

// ReviewEvidence records an auditor's verdict: rv's reviewer (By),
// decision, comment and time (At; the store's clock when zero) become the
// next review of the record's history (citadel.NewReview: chained after
// the last review, anchored at the latest revision), written in one
// transaction with the record, which takes the status, comment, reviewer
// and time and commits the review (ReviewCount, LatestReviewHash). Reviews
// are never rewritten. It fails with a conflict if a scan or another
// review changed the evidence meanwhile, and nothing is written.
func (s *Store) ReviewEvidence(ctx context.Context, id string, rv citadel.EvidenceReview) (citadel.Evidence, error) {
	if rv.At.IsZero() {
		rv.At = s.clock()
	}
	e, err := s.GetEvidence(ctx, id)
	if err != nil {
		return e, err
	}
	if e.Status == citadel.EvidenceExpired {
		return e, citadel.Conflict("evidence %s has expired and cannot be reviewed", id)
	}
	r := citadel.NewReview(e, rv.By, rv.Decision, rv.Comment, rv.At)
	if err := r.Validate(); err != nil {
		return e, err
	}
	cond, args := unchangedSince(e)
	e.Status, e.ReviewComment, e.ReviewedBy, e.ReviewedAt, e.UpdatedAt = r.Status(), r.Comment, r.By, r.At, r.At
	e.ReviewCount, e.LatestReviewHash = r.Number, r.Hash
	rav, err := marshalChecked(reviewItem{newItem(TypeEvidenceReview, evidenceReviewKey(id, r.Number)), r})
	if err != nil {
		return e, err
	}
	eav, err := marshalChecked(newEvidenceItem(e))
	if err != nil {
		return e, err
	}
	var cc dynamo.ConsumedCapacity
	err = s.db.WriteTx().Idempotent(true).
		Put(s.table.Put(rawItem(rav)).If("attribute_not_exists(PK)")).
		Put(s.table.Put(rawItem(eav)).If(cond, args...)).
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 2*(writeUnits(rav)+writeUnits(eav)))
	if dynamo.IsCondCheckFailed(err) || citadel.IsConflict(wrapAWS(err, "")) {
		return e, citadel.Conflict("evidence %s changed while it was reviewed; review it again", id)
	}
	return e, wrapAWS(err, "review evidence "+id)
}

// EvidenceReviews lists an evidence record's reviews, newest first: its
// review history. Only committed reviews (up to the record's review count)
// are listed.
func (s *Store) EvidenceReviews(ctx context.Context, evidenceID string) ([]citadel.EvidenceReview, error) {
	e, err := s.GetEvidence(ctx, evidenceID)
	if err != nil {
		return nil, err
	}
	return s.reviews(ctx, evidenceID, e.ReviewCount, dynamo.Descending)
}

func (s *Store) reviews(ctx context.Context, evidenceID string, upTo int, order dynamo.Order) ([]citadel.EvidenceReview, error) {
	var items []reviewItem
	q := s.byPK(evidenceKey(evidenceID).PK).Range(AttrSK, dynamo.BeginsWith, evidenceReviewSKPrefix()).Order(order)
	if err := s.queryAll(ctx, q, &items, "reviews of evidence "+evidenceID); err != nil {
		return nil, err
	}
	out := make([]citadel.EvidenceReview, 0, len(items))
	for _, it := range items {
		if it.Number <= upTo {
			out = append(out, it.EvidenceReview)
		}
	}
	return out, nil
}
