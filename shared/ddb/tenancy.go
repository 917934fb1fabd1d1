package ddb

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

type folderItem struct {
	item
	citadel.Folder
}

// CreateFolder stores a new folder; an existing id is a conflict.
func (s *Store) CreateFolder(ctx context.Context, f citadel.Folder) error {
	if err := f.Validate(); err != nil {
		return err
	}
	err := s.put(ctx, newFolderItem(f), "attribute_not_exists(PK)")
	if citadel.IsConflict(err) {
		return citadel.Conflict("folder %s already exists", f.ID)
	}
	return err
}

func newFolderItem(f citadel.Folder) folderItem {
	return folderItem{newItem(TypeFolder, folderKey(f.ID)).withGSI1(foldersGSI(f.ID)), f}
}

// GetFolder reads a folder by id.
func (s *Store) GetFolder(ctx context.Context, id string) (citadel.Folder, error) {
	var it folderItem
	err := s.get(ctx, folderKey(id), &it, "folder "+id)
	return it.Folder, err
}

// UpdateFolder replaces an existing folder (a rename); a missing one is not found.
func (s *Store) UpdateFolder(ctx context.Context, f citadel.Folder) error {
	if err := f.Validate(); err != nil {
		return err
	}
	err := s.put(ctx, newFolderItem(f), "attribute_exists(PK)")
	if citadel.IsConflict(err) {
		return citadel.NotFound("folder %s not found", f.ID)
	}
	return err
}

// ListFolders lists every folder by id, a page at a time (GSI1 FOLDERS).
func (s *Store) ListFolders(ctx context.Context, limit int, cursor string) (citadel.Page[citadel.Folder], error) {
	var items []folderItem
	next, err := s.queryPage(ctx, s.byGSI1(foldersPK()), limit, cursor, &items, "folders")
	page := citadel.Page[citadel.Folder]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.Folder)
	}
	return page, err
}

type integrationItem struct {
	item
	citadel.Integration
	// ArchivedAt is set when the integration was deleted (archive.go): the
	// record stays, out of its folder's list, for its scans and results.
	ArchivedAt *time.Time `dynamo:",omitempty"`
}

func newIntegrationItem(in citadel.Integration) integrationItem {
	g := GSIKey{integrationsOfFolderPK(in.FolderID), in.ID}
	return integrationItem{item: withMemberIndex(newItem(TypeIntegration, integrationKey(in.ID)).withGSI1(g), in), Integration: in}
}

type accountClaimItem struct {
	item
	IntegrationID string
}

// newAccountClaim is integration in's claim of its account in its folder.
func newAccountClaim(in citadel.Integration) accountClaimItem {
	return accountClaimItem{newItem(TypeAccountClaim, accountClaimKey(in.FolderID, in.AccountID)).
		withGSI1(claimsOfAccountGSI(in.AccountID, in.FolderID)), in.ID}
}

// IntegrationsOfAccount returns the ids of the integrations that claim
// account, one per folder at most, in folder order: one query of the
// account's claims (GSI1). A claim written before the index existed is not
// listed until its integration is created or restored again.
func (s *Store) IntegrationsOfAccount(ctx context.Context, account string) ([]string, error) {
	var ids []string
	for page, err := range citadel.Pages(func(cursor string) (citadel.Page[accountClaimItem], error) {
		var items []accountClaimItem
		next, err := s.queryPage(ctx, s.byGSI1(claimsOfAccountPK(account)), 100, cursor, &items, "integrations of account "+account)
		return citadel.Page[accountClaimItem]{Items: items, Next: next}, err
	}) {
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			ids = append(ids, c.IntegrationID)
		}
	}
	return ids, nil
}

// CreateIntegration stores a new integration with its account's claim in
// its folder, in one transaction: an existing id, or another integration of
// the same account in the folder, is a conflict naming it.
func (s *Store) CreateIntegration(ctx context.Context, in citadel.Integration) error {
	if err := in.Validate(); err != nil {
		return err
	}
	av, err := marshalChecked(newIntegrationItem(in))
	if err != nil {
		return err
	}
	claim := newAccountClaim(in)
	var cc dynamo.ConsumedCapacity
	err = s.db.WriteTx().
		Put(s.table.Put(rawItem(av)).If("attribute_not_exists(PK)")).
		Put(s.table.Put(claim).If("attribute_not_exists(PK)")).
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, writeUnits(av)+1)
	if !dynamo.IsCondCheckFailed(err) {
		return wrapAWS(err, "create integration "+in.ID)
	}
	var held accountClaimItem
	switch cerr := s.get(ctx, claim.key(), &held, "account claim"); {
	case cerr == nil && held.IntegrationID == in.ID:
		if s.holds(ctx, av) {
			// The SDK retried a request whose first attempt went
			// through (its answer was lost): the integration is ours.
			return nil
		}
	case cerr == nil:
		return citadel.Conflict("account %s already has integration %s in folder %s", in.AccountID, held.IntegrationID, in.FolderID)
	}
	return citadel.Conflict("integration %s already exists", in.ID)
}

// UpdateIntegration replaces an existing integration (not an archived one).
func (s *Store) UpdateIntegration(ctx context.Context, in citadel.Integration) error {
	if err := in.Validate(); err != nil {
		return err
	}
	err := s.put(ctx, newIntegrationItem(in), "attribute_exists(PK) AND attribute_not_exists(ArchivedAt)")
	if citadel.IsConflict(err) {
		return citadel.NotFound("integration %s not found", in.ID)
	}
	return err
}

// GetIntegration reads an integration by id; an archived (deleted) one is
// not found (GetIntegrationRecord reads it).
func (s *Store) GetIntegration(ctx context.Context, id string) (citadel.Integration, error) {
	in, archived, err := s.GetIntegrationRecord(ctx, id)
	if err == nil && !archived.IsZero() {
		return citadel.Integration{}, citadel.NotFound("integration %s not found (deleted %s)", id, archived.Format(time.RFC3339))
	}
	return in, err
}

// DeleteIntegration deletes an integration record and its account's claim
// (its scans, assets and results stay until their retention ends).
func (s *Store) DeleteIntegration(ctx context.Context, id string) error {
	in, err := s.GetIntegration(ctx, id)
	if err != nil {
		return err
	}
	claim := accountClaimKey(in.FolderID, in.AccountID)
	err = s.db.WriteTx().
		Delete(s.table.Delete(AttrPK, integrationKey(id).PK).Range(AttrSK, integrationKey(id).SK)).
		// Only the integration's own claim (one made before claims
		// existed may be another's, or none).
		Delete(s.table.Delete(AttrPK, claim.PK).Range(AttrSK, claim.SK).If("attribute_not_exists(PK) OR IntegrationID = ?", id)).
		Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return s.deleteKey(ctx, integrationKey(id))
	}
	return wrapAWS(err, "delete integration "+id)
}

// ListIntegrations lists a folder's integrations, a page at a time.
func (s *Store) ListIntegrations(ctx context.Context, folderID string, limit int, cursor string) (citadel.Page[citadel.Integration], error) {
	var items []integrationItem
	next, err := s.queryPage(ctx, s.byGSI1(integrationsOfFolderPK(folderID)), limit, cursor, &items, "integrations of folder "+folderID)
	page := citadel.Page[citadel.Integration]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.Integration)
	}
	return page, err
}

type scanItem struct {
	item
	citadel.Scan
}

type scanLockItem struct {
	item
	ScanID string
}

func newScanItem(sc citadel.Scan) scanItem {
	return scanItem{newItem(TypeScan, scanKey(sc.IntegrationID, sc.ID)).withGSI1(scanByIDGSI(sc.ID)), sc}
}

// StartScan records a new queued scan and takes its integration's lock in one
// transaction: while another scan of the integration is queued or running,
// it fails with a conflict naming that scan. Starting the same scan again
// while it holds the lock succeeds (a retried request).
func (s *Store) StartScan(ctx context.Context, sc citadel.Scan) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	lock := scanLockItem{newItem(TypeScanLock, scanLockKey(sc.IntegrationID)), sc.ID}
	scanAV, err := marshalChecked(newScanItem(sc))
	if err != nil {
		return err
	}
	var cc dynamo.ConsumedCapacity
	err = s.db.WriteTx().
		Put(s.table.Put(lock).If("attribute_not_exists(PK)")).
		Put(s.table.Put(rawItem(scanAV)).If("attribute_not_exists(PK)")).
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 2*writeUnits(scanAV))
	if dynamo.IsCondCheckFailed(err) {
		running, rerr := s.RunningScan(ctx, sc.IntegrationID)
		switch {
		case rerr == nil && running.ID == sc.ID:
			// The SDK retried a request whose first attempt went through
			// (its answer was lost): the scan and its lock are ours.
			return nil
		case rerr == nil && sc.ParentScanID != "" && running.ID == sc.ParentScanID:
			return s.startNestedScan(ctx, sc, scanAV)
		case rerr == nil:
			return citadel.Conflict("integration %s already has scan %s %s", sc.IntegrationID, running.ID, running.Status)
		}
		return citadel.Conflict("scan %s already exists", sc.ID)
	}
	return wrapAWS(err, "start scan "+sc.ID)
}

// startNestedScan records a member scan of the integration whose lock its
// parent, an organization scan, holds (the organization's own account, in
// its scope): the lock stays the parent's, and is checked to be in the
// same transaction. A scan that already exists is a conflict, unless it
// is this one, queued (a retried start).
func (s *Store) startNestedScan(ctx context.Context, sc citadel.Scan, scanAV map[string]types.AttributeValue) error {
	lk := scanLockKey(sc.IntegrationID)
	var cc dynamo.ConsumedCapacity
	err := s.db.WriteTx().
		Check(s.table.Check(AttrPK, lk.PK).Range(AttrSK, lk.SK).If("'ScanID' = ?", sc.ParentScanID)).
		Put(s.table.Put(rawItem(scanAV)).If("attribute_not_exists(PK)")).
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, writeUnits(scanAV)+1)
	if dynamo.IsCondCheckFailed(err) {
		if got, gerr := s.consistentScan(ctx, sc.IntegrationID, sc.ID); gerr == nil && got.ParentScanID == sc.ParentScanID && got.Status.Active() {
			return nil
		}
		return citadel.Conflict("scan %s of integration %s cannot start under scan %s: it no longer holds the integration, or the scan exists",
			sc.ID, sc.IntegrationID, sc.ParentScanID)
	}
	return wrapAWS(err, "start scan "+sc.ID+" under scan "+sc.ParentScanID)
}

// RunningScan returns the queued or running scan of an integration.
func (s *Store) RunningScan(ctx context.Context, integrationID string) (citadel.Scan, error) {
	var lock scanLockItem
	if err := s.get(ctx, scanLockKey(integrationID), &lock, "running scan of integration "+integrationID); err != nil {
		return citadel.Scan{}, err
	}
	return s.GetScanOf(ctx, integrationID, lock.ScanID)
}

// GetScanOf reads a scan of a known integration.
func (s *Store) GetScanOf(ctx context.Context, integrationID, scanID string) (citadel.Scan, error) {
	var it scanItem
	err := s.get(ctx, scanKey(integrationID, scanID), &it, "scan "+scanID)
	return it.Scan, err
}

// GetScan reads a scan by id alone (through GSI1).
func (s *Store) GetScan(ctx context.Context, scanID string) (citadel.Scan, error) {
	var items []scanItem
	g := scanByIDGSI(scanID)
	if err := s.queryAll(ctx, s.byGSI1(g.PK).Range(AttrGSI1SK, dynamo.Equal, g.SK), &items, "scan "+scanID); err != nil {
		return citadel.Scan{}, err
	}
	if len(items) == 0 {
		return citadel.Scan{}, citadel.NotFound("scan %s not found", scanID)
	}
	return items[0].Scan, nil
}

// ListScans lists an integration's scans, newest first.
func (s *Store) ListScans(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Scan], error) {
	var items []scanItem
	q := s.byPK(integrationKey(integrationID).PK).Range(AttrSK, dynamo.BeginsWith, scanSKPrefix()).Order(dynamo.Descending)
	next, err := s.queryPage(ctx, q, limit, cursor, &items, "scans of integration "+integrationID)
	page := citadel.Page[citadel.Scan]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.Scan)
	}
	return page, err
}

// MarkScanRunning moves a queued scan to running.
func (s *Store) MarkScanRunning(ctx context.Context, integrationID, scanID, executionARN string) (citadel.Scan, error) {
	sc, err := s.GetScanOf(ctx, integrationID, scanID)
	if err != nil {
		return sc, err
	}
	if sc.Status == citadel.ScanRunning {
		return sc, nil // a retried plan step
	}
	if sc.Status != citadel.ScanQueued {
		return sc, citadel.Conflict("scan %s is %s, not queued", scanID, sc.Status)
	}
	sc.Status, sc.StartedAt = citadel.ScanRunning, s.clock()
	if executionARN != "" {
		sc.ExecutionARN = executionARN
	}
	return sc, s.put(ctx, newScanItem(sc), "'Status' = ?", citadel.ScanQueued)
}
