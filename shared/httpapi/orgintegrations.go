package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// This file is what the API does for organization integrations and their
// members (citadel/integration_org.go): list an organization's members,
// refuse edits and deletes of a member (the organization sync owns them),
// and delete an organization with its members.

// orgMembers is what the organization routes need of the store, part of
// Integrations (ddb/orgmembers.go).
type orgMembers interface {
	ListMemberIntegrations(ctx context.Context, orgID string) ([]citadel.Integration, error)
}

// listMembers answers GET /integrations/{id}/members: the live members of
// an organization integration, by account, all at once (one query of its
// GSI2 partition; an organization of 1,000 accounts is ~500 KB).
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	org, err := s.Integrations.GetIntegration(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !org.IsOrganization() {
		return citadel.Invalid("integration %s is of kind %s: only an integration of kind %s has members",
			org.ID, kindOf(org), citadel.KindOrganization)
	}
	members, err := s.Integrations.ListMemberIntegrations(r.Context(), org.ID)
	if err != nil {
		return fmt.Errorf("members of organization integration %s: %w", org.ID, err)
	}
	writeJSON(w, http.StatusOK, citadel.Page[citadel.Integration]{Items: members})
	return nil
}

func kindOf(in citadel.Integration) citadel.IntegrationKind {
	if in.Kind == "" {
		return citadel.KindAccount
	}
	return in.Kind
}

// memberOwned refuses a change to a member integration: each sync of its
// organization sets what it scans and its name again, so an edit would not
// last and a deleted member would come back. The organization is what to
// change (its options exclude an account).
func memberOwned(in citadel.Integration, what string) error {
	if in.ParentID == "" {
		return nil
	}
	return citadel.Conflict("integration %s is a member of organization integration %s: its organization's syncs set its role, "+
		"external id, regions, frameworks, checks and name, so it cannot be %s here; change organization integration %s "+
		"(organization.exclude_accounts leaves account %s out, and its member is archived by the next sync)",
		in.ID, in.ParentID, what, in.ParentID, in.AccountID)
}

// archiveOrganization archives an organization integration's members and
// then the organization, as deleteIntegration does each: refused, before
// anything changes, while a scan of the organization or of any member is
// queued or running. A delete that fails part-way leaves the organization
// live with its remaining members listed, so a DELETE again finishes it.
func (s *Server) archiveOrganization(ctx context.Context, org citadel.Integration) error {
	members, err := s.Integrations.ListMemberIntegrations(ctx, org.ID)
	if err != nil {
		return fmt.Errorf("members of organization integration %s: %w", org.ID, err)
	}
	for _, m := range append([]citadel.Integration{org}, members...) {
		switch sc, err := s.Scans.RunningScan(ctx, m.ID); {
		case err == nil && m.ID == org.ID:
			return ddb.ScanHoldsIntegration(sc)
		case err == nil:
			return citadel.Conflict("organization integration %s cannot be deleted while scan %s of its member %s (account %s) is %s; cancel it or wait for it to end",
				org.ID, sc.ID, m.ID, m.AccountID, sc.Status)
		case !citadel.IsNotFound(err):
			return fmt.Errorf("running scan of integration %s: %w", m.ID, err)
		}
	}
	for _, m := range members {
		if err := s.archiveIntegration(ctx, m); err != nil && !citadel.IsNotFound(err) {
			return fmt.Errorf("archive member %s of organization integration %s: %w", m.ID, org.ID, err)
		}
		if _, err := s.Integrations.RemoveIntegrationFromControls(ctx, m.FolderID, m.ID, s.Clock()); err != nil {
			return fmt.Errorf("controls of deleted member %s: %w", m.ID, err)
		}
	}
	s.Log.InfoContext(ctx, "organization members deleted", "integration_id", org.ID, "members", len(members))
	return s.archiveIntegration(ctx, org)
}

// memberIDs are the ids of an organization integration's live members (none
// for an account integration): an organization's coverage is its own and
// its members'.
func (s *Server) memberIDs(ctx context.Context, in citadel.Integration) ([]string, error) {
	if !in.IsOrganization() {
		return nil, nil
	}
	members, err := s.Integrations.ListMemberIntegrations(ctx, in.ID)
	if err != nil {
		return nil, fmt.Errorf("members of organization integration %s: %w", in.ID, err)
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	return ids, nil
}
