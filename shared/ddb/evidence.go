package ddb

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

type evidenceItem struct {
	item
	citadel.Evidence
}

func newEvidenceItem(e citadel.Evidence) evidenceItem {
	it := newItem(TypeEvidence, evidenceKey(e.ID)).
		withGSI1(evidenceOfFolderGSI(e.FolderID, string(e.Status), e.ID)).
		withGSI2(evidenceOfIntegrationGSI(e.SourceIntegration, e.ID))
	return evidenceItem{it, e}
}

type revisionItem struct {
	item
	EvidenceID  string
	Number      int
	ScanID      string
	Raw         bounded
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

// ListEvidence lists a folder's evidence with one status ("" for every
// status), a page at a time.
func (s *Store) ListEvidence(ctx context.Context, folderID string, status citadel.EvidenceStatus, limit int, cursor string) (Page[citadel.Evidence], error) {
	g := evidenceOfFolderGSI(folderID, string(status), "")
	q := s.byGSI1(g.PK)
	if status != "" {
		q = q.Range(AttrGSI1SK, dynamo.BeginsWith, g.SK)
	}
	var items []evidenceItem
	next, err := s.queryPage(ctx, q, limit, cursor, &items, "evidence of folder "+folderID)
	page := Page[citadel.Evidence]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.Evidence)
	}
	return page, err
}

// EvidenceOfIntegration reads every evidence record of an integration (GSI2,
// eventually consistent: WriteEvidence's conditions catch a stale read).
func (s *Store) EvidenceOfIntegration(ctx context.Context, integrationID string) ([]citadel.Evidence, error) {
	var items []evidenceItem
	if err := s.queryAll(ctx, s.byGSI2(evidenceOfIntegrationGSI(integrationID, "").PK), &items, "evidence of integration "+integrationID); err != nil {
		return nil, err
	}
	out := make([]citadel.Evidence, len(items))
	for i, it := range items {
		out[i] = it.Evidence
	}
	return out, nil
}

// EvidenceWrite is one evidence record to write and the revision it gains, if
// any. Create requires that the record does not exist yet; otherwise the
// stored record must still have PrevRevisionCount revisions and PrevStatus
// (so a concurrent review or scan is never overwritten).
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

// txWrite is one marshalled write of a transaction.
type txWrite struct {
	put  *dynamo.Put
	size int
}

func (s *Store) evidenceTxWrites(ctx context.Context, w EvidenceWrite) ([]txWrite, error) {
	if err := w.validate(); err != nil {
		return nil, err
	}
	av, err := marshalChecked(newEvidenceItem(w.Evidence))
	if err != nil {
		return nil, err
	}
	p := s.table.Put(rawItem(av))
	if w.Create {
		p = p.If("attribute_not_exists(PK)")
	} else {
		p = p.If("'RevisionCount' = ? AND 'Status' = ?", w.PrevRevisionCount, w.PrevStatus)
	}
	out := []txWrite{{p, itemSize(av)}}
	if r := w.Revision; r != nil {
		raw, err := s.bound(ctx, "evidence", r.RawOutput)
		if err != nil {
			return nil, err
		}
		ri := revisionItem{newItem(TypeEvidenceRevision, evidenceRevisionKey(r.EvidenceID, r.Number)),
			r.EvidenceID, r.Number, r.ScanID, raw, r.ContentHash, r.PrevHash, r.Hash, r.CreatedAt}
		rav, err := marshalChecked(ri)
		if err != nil {
			return nil, err
		}
		out = append(out, txWrite{s.table.Put(rawItem(rav)).If("attribute_not_exists(PK)"), itemSize(rav)})
	}
	return out, nil
}

// Transaction bounds: DynamoDB allows 100 items and 4 MB per transaction.
const (
	txMaxItems = 100
	txMaxBytes = 3 << 20
)

// WriteEvidence writes evidence records together with their new revisions:
// each record and its revision change together or not at all (transactions
// of up to 100 items). Writes whose condition fails are left out and their
// evidence ids returned, so the caller can re-read and retry them.
func (s *Store) WriteEvidence(ctx context.Context, ws []EvidenceWrite) (conflicts []string, err error) {
	var (
		batch     [][]txWrite
		batchIDs  []string
		items     int
		bytes     int
		flushOnce = func() error {
			if len(batch) == 0 {
				return nil
			}
			c, err := s.runEvidenceTx(ctx, batch, batchIDs)
			conflicts = append(conflicts, c...)
			batch, batchIDs, items, bytes = nil, nil, 0, 0
			return err
		}
	)
	for _, w := range ws {
		tw, err := s.evidenceTxWrites(ctx, w)
		if err != nil {
			return conflicts, err
		}
		size := 0
		for _, x := range tw {
			size += x.size
		}
		if items+len(tw) > txMaxItems || bytes+size > txMaxBytes {
			if err := flushOnce(); err != nil {
				return conflicts, err
			}
		}
		batch, batchIDs = append(batch, tw), append(batchIDs, w.Evidence.ID)
		items, bytes = items+len(tw), bytes+size
	}
	return conflicts, flushOnce()
}

// runEvidenceTx runs one transaction; when a condition fails it retries each
// record on its own to find the ones that conflict.
func (s *Store) runEvidenceTx(ctx context.Context, groups [][]txWrite, ids []string) ([]string, error) {
	err := s.tx(ctx, groups)
	if err == nil || !dynamo.IsCondCheckFailed(err) {
		return nil, wrapAWS(err, fmt.Sprintf("write %d evidence records", len(groups)))
	}
	if len(groups) == 1 {
		return ids, nil
	}
	var conflicts []string
	for i, g := range groups {
		err := s.tx(ctx, [][]txWrite{g})
		switch {
		case dynamo.IsCondCheckFailed(err):
			conflicts = append(conflicts, ids[i])
		case err != nil:
			return conflicts, wrapAWS(err, "write evidence "+ids[i])
		}
	}
	return conflicts, nil
}

func (s *Store) tx(ctx context.Context, groups [][]txWrite) error {
	tx := s.db.WriteTx()
	var units float64
	for _, g := range groups {
		for _, w := range g {
			tx = tx.Put(w.put)
			u := float64((w.size + 1023) / 1024)
			if u == 0 {
				u = 1
			}
			units += 2 * u // transactions cost two units per KB
		}
	}
	var cc dynamo.ConsumedCapacity
	err := tx.ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, units)
	return err
}

// EvidenceRevisions lists an evidence record's revisions, newest first.
func (s *Store) EvidenceRevisions(ctx context.Context, evidenceID string) ([]citadel.EvidenceRevision, error) {
	return s.revisions(ctx, evidenceID, dynamo.Descending)
}

func (s *Store) revisions(ctx context.Context, evidenceID string, order dynamo.Order) ([]citadel.EvidenceRevision, error) {
	var items []revisionItem
	q := s.byPK(evidenceKey(evidenceID).PK).Range(AttrSK, dynamo.BeginsWith, evidenceRevisionSKPrefix()).Order(order)
	if err := s.queryAll(ctx, q, &items, "revisions of evidence "+evidenceID); err != nil {
		return nil, err
	}
	out := make([]citadel.EvidenceRevision, len(items))
	for i, it := range items {
		raw, err := s.unbound(ctx, it.Raw)
		if err != nil {
			return nil, fmt.Errorf("revision %d of evidence %s: %w", it.Number, evidenceID, err)
		}
		out[i] = citadel.EvidenceRevision{EvidenceID: it.EvidenceID, Number: it.Number, ScanID: it.ScanID, RawOutput: raw,
			ContentHash: it.ContentHash, PrevHash: it.PrevHash, Hash: it.Hash, CreatedAt: it.CreatedAt}
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
	revs, err := s.revisions(ctx, id, dynamo.Ascending)
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
	return nil, nil
}

// ReviewEvidence records an auditor's verdict: approved or rejected, with a
// comment. It fails with a conflict if a scan changed the evidence meanwhile.
func (s *Store) ReviewEvidence(ctx context.Context, id string, approve bool, comment string) (citadel.Evidence, error) {
	e, err := s.GetEvidence(ctx, id)
	if err != nil {
		return e, err
	}
	if e.Status == citadel.EvidenceExpired {
		return e, citadel.Conflict("evidence %s has expired and cannot be reviewed", id)
	}
	prevStatus := e.Status
	e.Status = citadel.EvidenceRejected
	if approve {
		e.Status = citadel.EvidenceApproved
	}
	now := s.clock()
	e.ReviewComment, e.ReviewedAt, e.UpdatedAt = comment, now, now
	err = s.put(ctx, newEvidenceItem(e), "'RevisionCount' = ? AND 'Status' = ?", e.RevisionCount, prevStatus)
	if citadel.IsConflict(err) {
		return e, citadel.Conflict("evidence %s changed while it was reviewed; review it again", id)
	}
	return e, err
}
