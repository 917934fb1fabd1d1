package ddb

import (
	"context"
	"errors"
	"fmt"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// activeScanCond is the condition under which a scan record may still
// change: it exists and is queued or running. An ended scan never changes.
const activeScanCond = "'Status' IN (?, ?)"

// FinishScan records a scan's end state (succeeded with its summary; failed,
// timed_out or cancelled with its cause) and releases the integration's
// lock, together. It never overwrites a scan that has already ended: then
// nothing changes but a lock still naming the scan is released, and the
// stored scan is returned as found. The scan returned is always the one the
// table holds afterwards, so a caller compares its Status with the one it
// asked for to learn who won (a finalize after a cancel, a reconciler after
// finalize).
func (s *Store) FinishScan(ctx context.Context, sc citadel.Scan) (citadel.Scan, error) {
	if !sc.Status.Ended() {
		return citadel.Scan{}, citadel.Invalid("scan %s cannot finish as %s", sc.ID, sc.Status)
	}
	if err := sc.Validate(); err != nil {
		return citadel.Scan{}, err
	}
	av, err := marshalChecked(newScanItem(sc))
	if err != nil {
		return citadel.Scan{}, err
	}
	nested, err := s.nestedScan(ctx, sc)
	if err != nil {
		return citadel.Scan{}, err
	}
	var cc dynamo.ConsumedCapacity
	lk := scanLockKey(sc.IntegrationID)
	tx := s.db.WriteTx().Put(s.table.Put(rawItem(av)).If(activeScanCond, citadel.ScanQueued, citadel.ScanRunning))
	if !nested {
		tx = tx.Delete(s.table.Delete(AttrPK, lk.PK).Range(AttrSK, lk.SK).If("attribute_not_exists(PK) OR 'ScanID' = ?", sc.ID))
	}
	err = tx.ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, writeUnits(av)+1)
	if !dynamo.IsCondCheckFailed(err) {
		return sc, wrapAWS(err, fmt.Sprintf("finish scan %s", sc.ID))
	}
	stored, err := s.consistentScan(ctx, sc.IntegrationID, sc.ID)
	switch {
	case err != nil:
		return citadel.Scan{}, err
	case stored.Status.Active():
		return stored, citadel.Conflict("integration %s is locked by another scan than %s", sc.IntegrationID, sc.ID)
	}
	// Already ended (by another finisher, or by this call's first attempt
	// whose answer was lost): keep it, and make sure its lock is gone.
	return stored, s.releaseLock(ctx, sc.IntegrationID, sc.ID)
}

// nestedScan reports whether sc is a member scan that does not hold its
// integration's lock (startNestedScan: the organization's own account,
// under the organization scan's lock, or a lock another scan took since
// the organization scan ended): finishing it leaves the lock alone. Only
// a scan with a parent is asked about (one read).
func (s *Store) nestedScan(ctx context.Context, sc citadel.Scan) (bool, error) {
	if sc.ParentScanID == "" {
		return false, nil
	}
	var lock scanLockItem
	k := scanLockKey(sc.IntegrationID)
	var cc dynamo.ConsumedCapacity
	err := s.table.Get(AttrPK, k.PK).Range(AttrSK, dynamo.Equal, k.SK).Consistent(true).ConsumedCapacity(&cc).One(ctx, &lock)
	s.record(&cc, 0)
	switch {
	case errors.Is(err, dynamo.ErrNotFound):
		return false, nil
	case err != nil:
		return false, wrapAWS(err, "lock of integration "+sc.IntegrationID)
	}
	return lock.ScanID != sc.ID, nil
}

// TakeOverScan finishes a lock holder whose execution has ended (or never
// started) and starts the next scan in its place, in one transaction: old
// must be the holder, still active in the table, with its end state set;
// next is recorded queued and takes the lock. If the holder changed in the
// meantime, it is a conflict and nothing is written.
func (s *Store) TakeOverScan(ctx context.Context, old, next citadel.Scan) error {
	switch {
	case old.IntegrationID != next.IntegrationID:
		return citadel.Invalid("scan %s cannot take the lock of scan %s of another integration", next.ID, old.ID)
	case !old.Status.Ended():
		return citadel.Invalid("scan %s cannot be taken over as %s", old.ID, old.Status)
	case next.Status != citadel.ScanQueued:
		return citadel.Invalid("scan %s must start queued, not %s", next.ID, next.Status)
	}
	if err := old.Validate(); err != nil {
		return err
	}
	if err := next.Validate(); err != nil {
		return err
	}
	oldAV, err := marshalChecked(newScanItem(old))
	if err != nil {
		return err
	}
	nextAV, err := marshalChecked(newScanItem(next))
	if err != nil {
		return err
	}
	lock := scanLockItem{newItem(TypeScanLock, scanLockKey(next.IntegrationID)), next.ID}
	var cc dynamo.ConsumedCapacity
	err = s.db.WriteTx().
		Put(s.table.Put(rawItem(oldAV)).If(activeScanCond, citadel.ScanQueued, citadel.ScanRunning)).
		Put(s.table.Put(lock).If("'ScanID' = ?", old.ID)).
		Put(s.table.Put(rawItem(nextAV)).If("attribute_not_exists(PK)")).
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, writeUnits(oldAV)+writeUnits(nextAV)+1)
	if dynamo.IsCondCheckFailed(err) {
		if holder, rerr := s.RunningScan(ctx, next.IntegrationID); rerr == nil && holder.ID == next.ID {
			return nil // a retried take-over whose first attempt went through
		}
		return citadel.Conflict("integration %s: scan %s no longer holds the lock", next.IntegrationID, old.ID)
	}
	return wrapAWS(err, fmt.Sprintf("take over the lock of scan %s for scan %s", old.ID, next.ID))
}

// releaseLock deletes the integration's lock if it names scanID.
func (s *Store) releaseLock(ctx context.Context, integrationID, scanID string) error {
	lk := scanLockKey(integrationID)
	var cc dynamo.ConsumedCapacity
	err := s.table.Delete(AttrPK, lk.PK).Range(AttrSK, lk.SK).If("'ScanID' = ?", scanID).ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 1)
	if dynamo.IsCondCheckFailed(err) {
		return nil // no lock, or another scan's
	}
	return wrapAWS(err, "release the lock of scan "+scanID)
}

// consistentScan reads a scan record with a strongly consistent read (the
// truth after a failed condition).
func (s *Store) consistentScan(ctx context.Context, integrationID, scanID string) (citadel.Scan, error) {
	var it scanItem
	k := scanKey(integrationID, scanID)
	var cc dynamo.ConsumedCapacity
	err := s.table.Get(AttrPK, k.PK).Range(AttrSK, dynamo.Equal, k.SK).Consistent(true).ConsumedCapacity(&cc).One(ctx, &it)
	s.record(&cc, 0)
	if errors.Is(err, dynamo.ErrNotFound) {
		return citadel.Scan{}, citadel.NotFound("scan %s not found", scanID)
	}
	return it.Scan, wrapAWS(err, "get scan "+scanID)
}
