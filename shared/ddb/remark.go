package ddb

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file holds the writes of the exception sweep (shared/jobs/exceptionsweep),
// which applies an exception's decision or expiry to the results it
// covers without a scan: a result's mark changed in place, with its history
// entry, and an approved exception's one expiry reminder.

// ResultRemark changes the exception mark of one current result: From is
// the mark read ("" none), To the new one ("" none). ContentHash is the
// content read: a scan that rewrote the result since wins (the remark is
// then skipped). History is the entry of the effective status's change (nil
// when it stays: one exception replacing another).
type ResultRemark struct {
	IntegrationID, CheckID, AssetID string
	ContentHash                     string
	From, To                        string
	History                         *citadel.CheckResultHistory
}

// RemarkResult writes one remark: the result's ExceptionID set (or
// removed) if its content and mark are still the ones read, and its history
// entry (if any), keyed by a time-ordered id of the remark (historyID, sorting with
// scan ids: citadel.NewID("scan", at)), in one transaction. changed is false
// when the result changed in between (a scan, another remark) and nothing
// was written.
func (s *Store) RemarkResult(ctx context.Context, m ResultRemark, historyID string) (changed bool, err error) {
	k := resultKey(m.IntegrationID, m.CheckID, m.AssetID)
	id := citadel.ResultID(m.IntegrationID, m.CheckID, m.AssetID)
	u := s.table.Update(AttrPK, k.PK).Range(AttrSK, k.SK)
	if m.To == "" {
		u = u.Remove("ExceptionID")
	} else {
		u = u.Set("ExceptionID", m.To)
	}
	if m.From == "" {
		u = u.If("'ContentHash' = ? AND attribute_not_exists('ExceptionID')", m.ContentHash)
	} else {
		u = u.If("'ContentHash' = ? AND 'ExceptionID' = ?", m.ContentHash, m.From)
	}
	tx, units := s.db.WriteTx().Idempotent(true).Update(u), 2.0
	if m.History != nil {
		hist, err := marshalChecked(historyItem{newItem(TypeResultHistory, resultHistoryKey(id, historyID)), *m.History})
		if err != nil {
			return false, err
		}
		tx, units = tx.Put(s.table.Put(rawItem(hist))), units+2*writeUnits(hist)
	}
	var cc dynamo.ConsumedCapacity
	err = tx.ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, units)
	if dynamo.IsCondCheckFailed(err) || citadel.IsConflict(wrapAWS(err, "")) {
		return false, nil
	}
	if err != nil {
		return false, wrapAWS(err, fmt.Sprintf("remark result %s: %q → %q", id, m.From, m.To))
	}
	return true, nil
}

// MarkExceptionReminded records that the approved exception id's expiry
// reminder was sent at `at`, once: sent is false when it was recorded
// before or the exception is no longer approved (nothing is written).
func (s *Store) MarkExceptionReminded(ctx context.Context, id string, at time.Time) (sent bool, err error) {
	k := exceptionKey(id)
	var cc dynamo.ConsumedCapacity
	err = s.table.Update(AttrPK, k.PK).Range(AttrSK, k.SK).Set("RemindedAt", at.UTC()).
		If("'Status' = ? AND attribute_not_exists('RemindedAt')", citadel.ExceptionApproved).
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 1)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrapAWS(err, "record the reminder of exception "+id)
	}
	return true, nil
}
