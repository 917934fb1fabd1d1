package ddb

import (
	"context"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// An organization integration's members (citadel.Integration.ParentID) are
// integrations like any other: created with CreateIntegration (their
// account's claim in the folder with them), archived with
// ArchiveIntegration. What is theirs alone is a listing by organization
// (pattern 2b of docs/data-model.md): each member's record is also in its
// organization's sparse GSI2 partition, INTEG#<org>#MEMBERS, sorted by
// account, and leaves it when it is archived. Nothing scans the table.

// withMemberIndex puts a member integration's record in its organization's
// GSI2 partition; any other record is left as it is.
func withMemberIndex(it item, in citadel.Integration) item {
	if in.ParentID == "" {
		return it
	}
	return it.withGSI2(membersOfOrgGSI(in.ParentID, in.AccountID))
}

// ListMemberIntegrations lists the live member integrations of organization
// integration orgID, by account id (one Query of GSI2, to its end). The
// index is eventually consistent: a member created a moment ago may be
// missing, one archived a moment ago may still be there, so a caller that
// writes from it (the organization sync) writes conditionally by id.
func (s *Store) ListMemberIntegrations(ctx context.Context, orgID string) ([]citadel.Integration, error) {
	var items []integrationItem
	if err := s.queryAll(ctx, s.byGSI2(membersOfOrgPK(orgID)), &items, "members of organization integration "+orgID); err != nil {
		return nil, err
	}
	members := make([]citadel.Integration, 0, len(items))
	for _, it := range items {
		if it.ArchivedAt == nil && it.ParentID == orgID {
			members = append(members, it.Integration)
		}
	}
	return members, nil
}

// RestoreIntegration puts an archived integration back, as in (its id,
// folder and account as the archived record's; the rest as given), in one
// transaction with its account's claim: it is live again, in its folder's
// list (and, a member, its organization's), with its scans and results as
// they were. Restoring a live integration is nothing; an unknown one is not
// found; another integration holding the account in the folder is a
// conflict naming it.
func (s *Store) RestoreIntegration(ctx context.Context, in citadel.Integration) error {
	if err := in.Validate(); err != nil {
		return err
	}
	stored, archived, err := s.GetIntegrationRecord(ctx, in.ID)
	switch {
	case err != nil:
		return err
	case archived.IsZero():
		return nil
	case stored.FolderID != in.FolderID || stored.AccountID != in.AccountID:
		return citadel.Invalid("restore integration %s: it was of account %s in folder %s, not of account %s in folder %s",
			in.ID, stored.AccountID, stored.FolderID, in.AccountID, in.FolderID)
	}
	av, err := marshalChecked(newIntegrationItem(in))
	if err != nil {
		return err
	}
	claim := newAccountClaim(in)
	var cc dynamo.ConsumedCapacity
	err = s.db.WriteTx().
		Put(s.table.Put(rawItem(av)).If("attribute_exists(ArchivedAt)")).
		Put(s.table.Put(claim).If("attribute_not_exists(PK) OR IntegrationID = ?", in.ID)).
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, writeUnits(av)+1)
	if !dynamo.IsCondCheckFailed(err) {
		return wrapAWS(err, "restore integration "+in.ID)
	}
	var held accountClaimItem
	if cerr := s.get(ctx, claim.key(), &held, "account claim"); cerr == nil && held.IntegrationID != in.ID {
		return citadel.Conflict("account %s already has integration %s in folder %s", in.AccountID, held.IntegrationID, in.FolderID)
	}
	if _, again, rerr := s.GetIntegrationRecord(ctx, in.ID); rerr == nil && again.IsZero() {
		return nil // a retried request (or a concurrent restore) put it back
	}
	return citadel.Conflict("integration %s changed while it was being restored; retry", in.ID)
}
