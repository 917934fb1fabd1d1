package ddb_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// organizationOf is an organization integration of a management account.
func organizationOf(id, account string) citadel.Integration {
	org := integrationOf(id, account)
	org.Kind = citadel.KindOrganization
	return org
}

func memberIDs(t *testing.T, s *ddb.Store, orgID string) []string {
	t.Helper()
	ms, err := s.ListMemberIntegrations(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

// An organization's members are listed by account, and only its members:
// not its folder's other integrations, not another organization's members,
// not an archived member. An update of a member keeps it listed.
func TestListMemberIntegrations(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	org, other := organizationOf("int-org", "111111111111"), organizationOf("int-org2", "999999999999")
	mB, mA := org.Member("333333333333", "b", t0), org.Member("222222222222", "a", t0)
	otherFolder := other
	otherFolder.FolderID = "f2"
	theirs := otherFolder.Member("222222222222", "a", t0)
	solo := integrationOf("int-solo", "444444444444")
	for _, in := range []citadel.Integration{org, otherFolder, mB, mA, theirs, solo} {
		if err := s.CreateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListMemberIntegrations(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.Integration{mA, mB}, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("members (-want +got):\n%s", d)
	}
	mA.Name = "renamed"
	if err := s.UpdateIntegration(ctx, mA); err != nil {
		t.Fatal(err)
	}
	if err := s.ArchiveIntegration(ctx, mB.ID, t0); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{mA.ID}, memberIDs(t, s, org.ID)); d != "" {
		t.Errorf("members after an update and an archive (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{theirs.ID}, memberIDs(t, s, other.ID)); d != "" {
		t.Errorf("the other organization's members (-want +got):\n%s", d)
	}
	// Members are in their folder's list like any integration.
	page, err := s.ListIntegrations(ctx, "f1", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var inFolder []string
	for _, in := range page.Items {
		inFolder = append(inFolder, in.ID)
	}
	if d := cmp.Diff([]string{mA.ID, "int-org", "int-solo"}, inFolder); d != "" {
		t.Errorf("folder f1 (-want +got):\n%s", d)
	}
}

// Restoring an archived integration puts it back live, listed, with its
// account's claim; a live one is nothing; an unknown one is not found;
// another integration holding the account is a conflict naming it, and so
// is nothing changed; another account or folder is refused.
func TestRestoreIntegration(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	org := organizationOf("int-org", "111111111111")
	m := org.Member("222222222222", "prod", t0)
	for _, in := range []citadel.Integration{org, m} {
		if err := s.CreateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RestoreIntegration(ctx, m); err != nil {
		t.Errorf("restore a live integration: %v, want nothing", err)
	}
	if err := s.ArchiveIntegration(ctx, m.ID, t0); err != nil {
		t.Fatal(err)
	}
	back := m
	back.Frameworks, back.UpdatedAt = []string{"cis_2.0_aws"}, t0.Add(1)
	for range 2 { // again is nothing
		if err := s.RestoreIntegration(ctx, back); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetIntegration(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(back, got); d != "" {
		t.Errorf("restored (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{m.ID}, memberIDs(t, s, org.ID)); d != "" {
		t.Errorf("members after the restore (-want +got):\n%s", d)
	}
	if err := s.CreateIntegration(ctx, integrationOf("int-solo", "222222222222")); !citadel.IsConflict(err) {
		t.Errorf("another integration of the restored member's account: %v, want a conflict (its claim is back)", err)
	}

	// Archived again, its account taken by another integration meanwhile.
	if err := s.ArchiveIntegration(ctx, m.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIntegration(ctx, integrationOf("int-solo", "222222222222")); err != nil {
		t.Fatal(err)
	}
	err = s.RestoreIntegration(ctx, back)
	if !citadel.IsConflict(err) || err.Error() != "account 222222222222 already has integration int-solo in folder f1" {
		t.Errorf("restore while int-solo holds the account: %v, want a conflict naming it", err)
	}
	if _, archived, err := s.GetIntegrationRecord(ctx, m.ID); err != nil || archived.IsZero() {
		t.Errorf("a refused restore changed the record: archived %v (%v)", archived, err)
	}

	moved := back
	moved.FolderID = "f2"
	if err := s.RestoreIntegration(ctx, moved); !citadel.IsInvalid(err) {
		t.Errorf("restore into another folder: %v, want invalid", err)
	}
	if err := s.RestoreIntegration(ctx, integrationOf("int-404", "222222222222")); !citadel.IsNotFound(err) {
		t.Errorf("restore an unknown integration: %v, want not found", err)
	}
	bad := back
	bad.ScheduleExpression = "rate(1 day)"
	if err := s.RestoreIntegration(ctx, bad); !citadel.IsInvalid(err) {
		t.Errorf("restore a member with a schedule of its own: %v, want invalid", err)
	}
}
