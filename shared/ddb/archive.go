package ddb

import (
	"context"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/guregu/dynamo/v2"
	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Deleting an integration archives it (docs/data-model.md, "Deleting an
// integration"): the record stays at its key marked ArchivedAt, out of its
// folder's list, so its scans, digests, history and current results stay
// readable by its id; its account's claim is released; and its contribution
// is removed from the applied controls of its folder, which is what every
// posture and coverage figure reads. Nothing here scans the table or reads
// per result: the archive is one transaction, the controls one Query of the
// folder's controls (pattern 25) and a conditional write per control the
// integration contributed to.

// removeAttempts bounds the re-reads of a control another writer changed
// while its contribution was being removed.
const removeAttempts = 5

// GetIntegrationRecord reads an integration by id, archived or not:
// archived is when it was deleted, zero while it is live.
func (s *Store) GetIntegrationRecord(ctx context.Context, id string) (in citadel.Integration, archived time.Time, err error) {
	var it integrationItem
	err = s.get(ctx, integrationKey(id), &it, "integration "+id)
	if it.ArchivedAt != nil {
		archived = *it.ArchivedAt
	}
	return it.Integration, archived, err
}

// ArchiveIntegration marks a live integration deleted at `at`, in one
// transaction: the record is rewritten without its folder-list key (GSI1) and
// with ArchivedAt, its account's claim is deleted (when it is this
// integration's), and the integration's scan lock must be absent, so a
// queued or running scan is a conflict naming it. Archiving an archived
// integration is nothing; an unknown one is not found.
func (s *Store) ArchiveIntegration(ctx context.Context, id string, at time.Time) error {
	in, archived, err := s.GetIntegrationRecord(ctx, id)
	if err != nil || !archived.IsZero() {
		return err
	}
	at = at.UTC()
	av, err := marshalChecked(integrationItem{item: newItem(TypeIntegration, integrationKey(id)), Integration: in, ArchivedAt: &at})
	if err != nil {
		return err
	}
	lock, claim := scanLockKey(id), accountClaimKey(in.FolderID, in.AccountID)
	tx := s.db.WriteTx().
		Put(s.table.Put(rawItem(av)).If("attribute_exists(PK) AND attribute_not_exists(ArchivedAt)")).
		Check(s.table.Check(AttrPK, lock.PK).Range(AttrSK, lock.SK).IfNotExists())
	var held accountClaimItem
	switch cerr := s.get(ctx, claim, &held, "account claim of integration "+id); {
	case cerr == nil && held.IntegrationID == id:
		tx = tx.Delete(s.table.Delete(AttrPK, claim.PK).Range(AttrSK, claim.SK).If("IntegrationID = ?", id))
	case cerr != nil && !citadel.IsNotFound(cerr):
		return cerr
	}
	var cc dynamo.ConsumedCapacity
	err = tx.ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 2*writeUnits(av)+2)
	if !dynamo.IsCondCheckFailed(err) {
		return wrapAWS(err, "archive integration "+id)
	}
	if sc, rerr := s.RunningScan(ctx, id); rerr == nil {
		return ScanHoldsIntegration(sc)
	}
	if _, again, rerr := s.GetIntegrationRecord(ctx, id); rerr == nil && !again.IsZero() {
		return nil // a retried request (or a concurrent delete) archived it
	}
	return citadel.Conflict("integration %s changed while it was being deleted; retry", id)
}

// ScanHoldsIntegration is the conflict of deleting an integration while
// its scan sc is queued or running.
func ScanHoldsIntegration(sc citadel.Scan) error {
	return citadel.Conflict("integration %s has scan %s %s: cancel it (POST /scans/%s/cancel) or let it end, then delete the integration",
		sc.IntegrationID, sc.ID, sc.Status, sc.ID)
}

// RemoveIntegrationFromControls removes an integration's contribution
// (AppliedControl.Integrations) from every applied control of a folder and
// recomputes each one's counts and posture from the remaining integrations'
// (citadel.AppliedControl.SumIntegrations, the posture rule). It reads the
// folder's controls in one paged Query (GSI1 FOLDER#<f>#CTLS, hundreds of
// items) and writes only the controls the integration contributed to,
// eight at a time, each conditional on its version (re-read consistently
// and retried when a scan of another integration changed it first). It
// returns how many controls it changed; running it again changes none.
func (s *Store) RemoveIntegrationFromControls(ctx context.Context, folderID, integrationID string, now time.Time) (int, error) {
	cs, err := s.AllControls(ctx, folderID)
	if err != nil {
		return 0, err
	}
	var changed atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, c := range cs {
		if _, ok := c.Integrations[integrationID]; !ok {
			continue
		}
		g.Go(func() error {
			did, err := s.removeContribution(gctx, c, integrationID, now)
			if did {
				changed.Add(1)
			}
			return err
		})
	}
	err = g.Wait()
	return int(changed.Load()), err
}

// removeContribution removes one integration's entry from control c.
func (s *Store) removeContribution(ctx context.Context, c citadel.AppliedControl, integrationID string, now time.Time) (bool, error) {
	for attempt := 1; ; attempt++ {
		if _, ok := c.Integrations[integrationID]; !ok {
			return false, nil
		}
		next := c
		next.Integrations = maps.Clone(c.Integrations)
		delete(next.Integrations, integrationID)
		next.SumIntegrations()
		next.UpdatedAt = now
		_, err := s.PutControl(ctx, next)
		if err == nil {
			return true, nil
		}
		if !citadel.IsConflict(err) || attempt == removeAttempts {
			return false, fmt.Errorf("remove integration %s from control %s: %w", integrationID, c.ID, err)
		}
		fresh, gerr := s.GetControls(ctx, []string{c.ID})
		if gerr != nil {
			return false, fmt.Errorf("re-read control %s: %w", c.ID, gerr)
		}
		var ok bool
		if c, ok = fresh[c.ID]; !ok {
			return false, nil // deleted meanwhile
		}
	}
}
