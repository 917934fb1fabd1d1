package export

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// evidenceBatch bounds one BatchGetItem of evidence records.
const evidenceBatch = 100

// evidence reads the evidence record of every finding, with its revisions
// and reviews. As of a past date a record is shown as it stood then: the
// revisions and reviews made by then, its counts and head hashes theirs
// (so its chains still verify), and records made later left out.
func (c *collector) evidence(ctx context.Context) error {
	ids := make([]string, 0, len(c.ds.Findings))
	for _, f := range c.ds.Findings {
		ids = append(ids, citadel.EvidenceID(f.IntegrationID, f.CheckID, f.AssetID))
	}
	for chunk := range slices.Chunk(ids, evidenceBatch) {
		recs, err := c.s.GetEvidenceBatch(ctx, chunk)
		if err != nil {
			return fmt.Errorf("export: evidence: %w", err)
		}
		for _, id := range chunk {
			e, ok := recs[id]
			if !ok {
				continue
			}
			rec, ok, err := c.record(ctx, e)
			if err != nil {
				return err
			}
			if ok {
				c.ds.Evidence = append(c.ds.Evidence, rec)
			}
		}
	}
	return nil
}

func (c *collector) record(ctx context.Context, e citadel.Evidence) (EvidenceRecord, bool, error) {
	revs, reviews, err := c.s.EvidenceChains(ctx, e)
	if err != nil {
		return EvidenceRecord{}, false, fmt.Errorf("export: chains of evidence %s: %w", e.ID, err)
	}
	if reviews == nil {
		reviews = []citadel.EvidenceReview{}
	}
	if !c.past {
		return EvidenceRecord{Evidence: e, Revisions: revs, Reviews: reviews}, true, nil
	}
	revs = slices.DeleteFunc(revs, func(r citadel.EvidenceRevision) bool { return r.CreatedAt.After(c.asOf) })
	if len(revs) == 0 {
		return EvidenceRecord{}, false, nil
	}
	reviews = slices.DeleteFunc(reviews, func(r citadel.EvidenceReview) bool { return r.At.After(c.asOf) })
	last := revs[len(revs)-1]
	e.RevisionCount, e.LatestHash, e.UpdatedAt = len(revs), last.Hash, last.CreatedAt
	e.ReviewCount, e.LatestReviewHash = len(reviews), ""
	e.Status, e.ReviewedAt, e.ReviewedBy, e.ReviewComment = citadel.EvidenceInReview, time.Time{}, "", ""
	if n := len(reviews); n > 0 {
		rv := reviews[n-1]
		e.LatestReviewHash, e.ReviewedAt, e.ReviewedBy, e.ReviewComment = rv.Hash, rv.At, rv.By, rv.Comment
		if rv.Revision == len(revs) { // a review judges a revision; a later revision reopens the record
			e.Status = statusOfDecision(rv.Decision)
		}
	}
	return EvidenceRecord{Evidence: e, Revisions: revs, Reviews: reviews}, true, nil
}

func statusOfDecision(d citadel.ReviewDecision) citadel.EvidenceStatus {
	if d == citadel.ReviewApprove {
		return citadel.EvidenceApproved
	}
	return citadel.EvidenceRejected
}

// exceptions reads every exception a finding names.
func (c *collector) exceptions(ctx context.Context) error {
	ids := map[string]bool{}
	for _, f := range c.ds.Findings {
		if f.ExceptionID != "" {
			ids[f.ExceptionID] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		e, err := c.s.GetException(ctx, id)
		if err != nil {
			return fmt.Errorf("export: exception %s: %w", id, err)
		}
		c.ds.Exceptions = append(c.ds.Exceptions, e)
	}
	return nil
}

// exceptionAt is the exception that covered a failing result at t, from
// the exceptions of its check that were approved then (their history).
func (c *collector) exceptionAt(ctx context.Context, r citadel.CheckResult, tags map[string]string, t time.Time) (string, error) {
	all, err := c.exceptionsOfCheck(ctx, r.IntegrationID, r.CheckID)
	if err != nil {
		return "", err
	}
	var es []citadel.Exception
	for _, e := range all {
		if e, ok := asAt(e, t); ok {
			es = append(es, e)
		}
	}
	r.Status = citadel.StatusFail
	e, ok := citadel.CoveringException(es, r, tags, t)
	if !ok {
		return "", nil
	}
	return e.ID, nil
}

// exceptionsOfCheck are the exceptions of a check that were ever approved
// (approved, expired or revoked now), read once per integration and check.
func (c *collector) exceptionsOfCheck(ctx context.Context, integrationID, checkID string) ([]citadel.Exception, error) {
	key := integrationID + "\n" + checkID
	if es, ok := c.checkExceptions[key]; ok {
		return es, nil
	}
	var es []citadel.Exception
	for _, st := range []citadel.ExceptionStatus{citadel.ExceptionApproved, citadel.ExceptionExpired, citadel.ExceptionRevoked} {
		page, err := c.s.ExceptionsOfCheck(ctx, integrationID, checkID, st)
		if err != nil {
			return nil, fmt.Errorf("export: exceptions of %s: %w", checkID, err)
		}
		es = append(es, page...)
	}
	if c.checkExceptions == nil {
		c.checkExceptions = map[string][]citadel.Exception{}
	}
	c.checkExceptions[key] = es
	return es, nil
}

// asAt is e with the status its history gave it at t.
func asAt(e citadel.Exception, t time.Time) (citadel.Exception, bool) {
	status := citadel.ExceptionStatus("")
	for _, h := range e.History {
		if h.At.After(t) {
			break
		}
		status = h.To
	}
	if status == "" {
		return e, false
	}
	e.Status = status
	return e, true
}

// sortDataset puts every list in a stable order, so the same data always
// exports the same bytes.
func sortDataset(ds *Dataset) {
	slices.SortFunc(ds.Integrations, func(a, b Integration) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(ds.Findings, func(a, b Finding) int {
		return cmp.Or(strings.Compare(a.IntegrationID, b.IntegrationID), strings.Compare(a.CheckID, b.CheckID), strings.Compare(a.AssetARN, b.AssetARN))
	})
	for i := range ds.Findings {
		slices.Sort(ds.Findings[i].Controls)
		slices.Sort(ds.Findings[i].Requirements)
	}
	slices.SortFunc(ds.Controls, func(a, b Control) int { return cmp.Or(strings.Compare(a.RefID, b.RefID), strings.Compare(a.ID, b.ID)) })
	for i := range ds.Controls {
		slices.Sort(ds.Controls[i].Checks)
		slices.Sort(ds.Controls[i].Requirements)
	}
	slices.SortFunc(ds.Requirements, func(a, b Requirement) int { return strings.Compare(a.RefID, b.RefID) })
	for i := range ds.Requirements {
		slices.Sort(ds.Requirements[i].Controls)
	}
	slices.SortFunc(ds.Evidence, func(a, b EvidenceRecord) int { return strings.Compare(a.Evidence.ID, b.Evidence.ID) })
	slices.SortFunc(ds.Exceptions, func(a, b citadel.Exception) int { return strings.Compare(a.ID, b.ID) })
}
