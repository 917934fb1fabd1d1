package ddb

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Exceptions (citadel.Exception): risk acceptances of a check's results,
// their lists by integration and by folder, and their expiry entries.

type exceptionItem struct {
	item
	citadel.Exception
}

func newExceptionItem(e citadel.Exception) exceptionItem {
	it := newItem(TypeException, exceptionKey(e.ID)).
		withGSI1(exceptionsOfIntegrationGSI(e.IntegrationID, string(e.Status), e.CheckID, e.ID)).
		withGSI2(exceptionsOfFolderGSI(e.FolderID, string(e.Status), e.ID))
	return exceptionItem{it, e}
}

// exceptionExpiryItem stands for a live exception in its status's expiry
// partition (keys.go).
type exceptionExpiryItem struct {
	item
	ExceptionID   string
	IntegrationID string
	Expiry        time.Time
}

func newExceptionExpiryItem(e citadel.Exception) exceptionExpiryItem {
	return exceptionExpiryItem{newItem(TypeExceptionExpiry, exceptionExpiryKey(string(e.Status), e.ExpiresAt, e.ID)), e.ID, e.IntegrationID, e.ExpiresAt}
}

// CreateException stores a new exception, a request (status requested),
// with its expiry entry, in one transaction: an existing id is a conflict
// and nothing is written.
func (s *Store) CreateException(ctx context.Context, e citadel.Exception) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Status != citadel.ExceptionRequested || len(e.History) != 1 {
		return citadel.Invalid("exception %s: a new exception is a request (status requested, no decision), not %s", e.ID, e.Status)
	}
	av, err := marshalChecked(newExceptionItem(e))
	if err != nil {
		return err
	}
	entry, err := marshalChecked(newExceptionExpiryItem(e))
	if err != nil {
		return err
	}
	var cc dynamo.ConsumedCapacity
	err = s.db.WriteTx().Idempotent(true).
		Put(s.table.Put(rawItem(av)).If("attribute_not_exists(PK)")).
		Put(s.table.Put(rawItem(entry))).
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 2*(writeUnits(av)+writeUnits(entry)))
	if dynamo.IsCondCheckFailed(err) || citadel.IsConflict(wrapAWS(err, "")) {
		if s.holds(ctx, av) {
			return nil // a retried request whose first attempt went through
		}
		return citadel.Conflict("exception %s already exists", e.ID)
	}
	return wrapAWS(err, "create exception "+e.ID)
}

// GetException reads an exception by id.
func (s *Store) GetException(ctx context.Context, id string) (citadel.Exception, error) {
	var it exceptionItem
	err := s.get(ctx, exceptionKey(id), &it, "exception "+id)
	return it.Exception, err
}

// ListExceptionsOfIntegration lists an integration's exceptions with one
// status (every status when ""), by status, check and id, a page at a time
// (GSI1 INTEG#<id>#EXCS).
func (s *Store) ListExceptionsOfIntegration(ctx context.Context, integrationID string, status citadel.ExceptionStatus, limit int, cursor string) (citadel.Page[citadel.Exception], error) {
	return s.listExceptions(ctx, s.byGSI1(exceptionsOfIntegrationPK(integrationID)), AttrGSI1SK, status, limit, cursor,
		"exceptions of integration "+integrationID)
}

// ListExceptionsOfFolder lists a folder's exceptions with one status (the
// review queue is requested; every status when ""), by status and id, a page
// at a time (GSI2 FOLDER#<id>#EXCS).
func (s *Store) ListExceptionsOfFolder(ctx context.Context, folderID string, status citadel.ExceptionStatus, limit int, cursor string) (citadel.Page[citadel.Exception], error) {
	return s.listExceptions(ctx, s.byGSI2(exceptionsOfFolderPK(folderID)), AttrGSI2SK, status, limit, cursor,
		"exceptions of folder "+folderID)
}

// listExceptions pages through q, narrowed to a status's range of its sort
// key skAttr; a cursor is bound to the partition and the status.
func (s *Store) listExceptions(ctx context.Context, q *dynamo.Query, skAttr string, status citadel.ExceptionStatus, limit int, cursor, what string) (citadel.Page[citadel.Exception], error) {
	if status != "" {
		if !status.Valid() {
			return citadel.Page[citadel.Exception]{}, citadel.Invalid("status %q is not an exception status", status)
		}
		q = q.Range(skAttr, dynamo.BeginsWith, exceptionSKPrefix(string(status)))
	}
	var items []exceptionItem
	next, err := s.queryPage(ctx, q, limit, cursor, &items, fmt.Sprintf("%s with status %q", what, status))
	return citadel.Page[citadel.Exception]{Next: next, Items: unwrap(items, exceptionOf)}, err
}

func exceptionOf(it exceptionItem) citadel.Exception { return it.Exception }

// ExceptionsOfCheck lists an integration's exceptions of one check with one
// status, by id (approved: what re-marking one check's results without a
// scan reads), one query of GSI1.
func (s *Store) ExceptionsOfCheck(ctx context.Context, integrationID, checkID string, status citadel.ExceptionStatus) ([]citadel.Exception, error) {
	var items []exceptionItem
	q := s.byGSI1(exceptionsOfIntegrationPK(integrationID)).Range(AttrGSI1SK, dynamo.BeginsWith, exceptionSKPrefix(string(status), checkID))
	if err := s.queryAll(ctx, q, &items, fmt.Sprintf("%s exceptions of check %s of integration %s", status, checkID, integrationID)); err != nil {
		return nil, err
	}
	return unwrap(items, exceptionOf), nil
}

// ListExpiringExceptions lists the exceptions of a live status (requested or
// approved) that expire before `before`, soonest first, a page at a time:
// one range of the status's expiry partition, then the exceptions read by
// id (consistent). This is the expiry sweep's query.
func (s *Store) ListExpiringExceptions(ctx context.Context, status citadel.ExceptionStatus, before time.Time, limit int, cursor string) (citadel.Page[citadel.Exception], error) {
	if !status.Live() {
		return citadel.Page[citadel.Exception]{}, citadel.Invalid("only requested and approved exceptions expire, not %q", status)
	}
	q := s.byPK(exceptionExpiryPK(string(status))).Range(AttrSK, dynamo.Less, expiryTime(before))
	var entries []exceptionExpiryItem
	// The cursor is bound to the status and the time, since it resumes that range.
	next, err := s.queryPage(ctx, q, limit, cursor, &entries, fmt.Sprintf("%s exceptions expiring before %s", status, expiryTime(before)))
	if err != nil {
		return citadel.Page[citadel.Exception]{}, err
	}
	keys := make([]Key, len(entries))
	for i, en := range entries {
		keys[i] = exceptionKey(en.ExceptionID)
	}
	var items []exceptionItem
	if err := s.batchGet(ctx, keys, &items, "expiring exceptions"); err != nil {
		return citadel.Page[citadel.Exception]{}, err
	}
	byID := make(map[string]citadel.Exception, len(items))
	for _, it := range items {
		byID[it.ID] = it.Exception
	}
	page := citadel.Page[citadel.Exception]{Next: next}
	for _, en := range entries {
		if e, ok := byID[en.ExceptionID]; ok {
			page.Items = append(page.Items, e)
		}
	}
	return page, nil
}

// DecideException applies a decision (citadel.Exception.Decide: approve,
// reject, revoke, expire) to the exception as it is stored (a consistent
// read) and writes the result conditionally on the status read, with its
// expiry entry moved, in one transaction. Of two decisions at once one wins,
// the other is a conflict naming the status it found; a refused decision
// (invalid, forbidden, conflict) writes nothing. It returns the exception
// as decided.
func (s *Store) DecideException(ctx context.Context, id string, d citadel.ExceptionDecision) (citadel.Exception, error) {
	var it exceptionItem
	if err := s.getConsistent(ctx, exceptionKey(id), &it, "exception "+id); err != nil {
		return it.Exception, err
	}
	next, err := it.Exception.Decide(d)
	if err != nil {
		return it.Exception, err
	}
	return next, s.writeDecision(ctx, it.Exception, next)
}

// writeDecision replaces prev with next if the stored status is still
// prev's (no status recurs, so it names the version read), moving the
// expiry entry: out of prev's partition, into next's while it is live.
func (s *Store) writeDecision(ctx context.Context, prev, next citadel.Exception) error {
	if err := next.Validate(); err != nil {
		return err
	}
	av, err := marshalChecked(newExceptionItem(next))
	if err != nil {
		return err
	}
	units := 2 * writeUnits(av)
	tx := s.db.WriteTx().Idempotent(true).Put(s.table.Put(rawItem(av)).If("'Status' = ?", prev.Status))
	if prev.Status.Live() {
		old := exceptionExpiryKey(string(prev.Status), prev.ExpiresAt, prev.ID)
		tx = tx.Delete(s.table.Delete(AttrPK, old.PK).Range(AttrSK, old.SK))
		units += 2
	}
	if next.Status.Live() {
		entry, err := marshalChecked(newExceptionExpiryItem(next))
		if err != nil {
			return err
		}
		tx = tx.Put(s.table.Put(rawItem(entry)))
		units += 2 * writeUnits(entry)
	}
	var cc dynamo.ConsumedCapacity
	err = tx.ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, units)
	if dynamo.IsCondCheckFailed(err) || citadel.IsConflict(wrapAWS(err, "")) {
		var cur exceptionItem
		if gerr := s.getConsistent(ctx, exceptionKey(prev.ID), &cur, "exception "+prev.ID); gerr != nil {
			return fmt.Errorf("exception %s changed while it was decided: %w", prev.ID, gerr)
		}
		return citadel.Conflict("exception %s is %s now, not %s: another decision came first (read it again)", prev.ID, cur.Status, prev.Status)
	}
	return wrapAWS(err, fmt.Sprintf("exception %s: %s → %s", prev.ID, prev.Status, next.Status))
}
