package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// The demo's organization: its folder (a folder holds an account once, and
// the demo account is the account integration's in fld-demo) and its
// integration, whose scope is the OU of the member account.
const (
	demoOrgFolderID      = "fld-demo-org"
	demoOrgIntegrationID = "int-demo-org"
)

// seedDemo seeds the demo's estates, in an order that never changes (their
// ids come from the local server's seeded random generator): the demo
// account's estate, then the organization it manages and its member's.
func seedDemo(ctx context.Context, cfg aws.Config) (demoestate.Estate, demoestate.Org, error) {
	mgmt := demoestate.Target(cfg, demoestate.AccountID)
	estate, err := demoestate.Seed(ctx, mgmt, demoestate.AccountID)
	if err != nil {
		return estate, demoestate.Org{}, err
	}
	org, err := demoestate.SeedOrganization(ctx, cfg, mgmt)
	return estate, org, err
}

// ensureOrgIntegration creates the demo's organization folder and
// integration (the demo account's organization, scoped to the member's
// OU, the account integration's frameworks and checks), or brings it up to
// date.
func ensureOrgIntegration(ctx context.Context, store *ddb.Store, org demoestate.Org, like citadel.Integration) (citadel.Integration, error) {
	now := citadel.SystemClock()
	if err := store.CreateFolder(ctx, citadel.Folder{ID: demoOrgFolderID, Name: "Demo organization", CreatedAt: now}); err != nil && !citadel.IsConflict(err) {
		return citadel.Integration{}, err
	}
	opts := &citadel.OrganizationOptions{OUs: []string{org.OU}}
	in, err := store.GetIntegration(ctx, demoOrgIntegrationID)
	if citadel.IsNotFound(err) {
		in = citadel.Integration{ID: demoOrgIntegrationID, FolderID: demoOrgFolderID, Name: "Demo organization (local AWS)",
			Kind: citadel.KindOrganization, Organization: opts, AccountID: demoestate.AccountID, RoleARN: like.RoleARN,
			ExternalID: like.ExternalID, Regions: like.Regions, Frameworks: like.Frameworks, Checks: like.Checks, CreatedAt: now, UpdatedAt: now}
		return in, store.CreateIntegration(ctx, in)
	}
	if err != nil {
		return in, err
	}
	if !slices.Equal(in.Organization.OUs, opts.OUs) || !slices.Equal(in.Frameworks, like.Frameworks) || !slices.Equal(in.Checks, like.Checks) {
		in.Organization, in.Frameworks, in.Checks, in.UpdatedAt = opts, like.Frameworks, like.Checks, now
		return in, store.UpdateIntegration(ctx, in)
	}
	return in, nil
}

// demoOrgScan scans the demo's organization: the sync finds the member
// account in the OU and makes its integration, and the member is scanned
// as a scan of its own under the organization's.
func (r *runner) demoOrgScan(ctx context.Context, w io.Writer, store *ddb.Store, org demoestate.Org, like citadel.Integration) (OrgScanReport, error) {
	in, err := ensureOrgIntegration(ctx, store, org, like)
	if err != nil {
		return OrgScanReport{}, err
	}
	fmt.Fprintf(w, "\norganization: %s → organization %s of account %s, OU %s (%s) with account %s (%q, %d resources seeded)\n",
		in.ID, org.ID, in.AccountID, org.OU, demoestate.OUName, org.Member, demoestate.MemberAccountName, len(org.Estate.Resources))
	rep, err := r.scanOrganization(ctx, w, in)
	if err != nil {
		return rep, err
	}
	o := rep.Organization
	fmt.Fprintf(w, "organization scan %s %s: %d accounts (sync: %d listed, %d added, %d kept, %d archived), %d succeeded, %d failed, %d skipped; %d assets, %d checks failed\n",
		rep.ScanID, rep.Status, o.Members, o.Sync.Listed, o.Sync.Added, o.Sync.Kept, o.Sync.Archived, o.Succeeded, o.Failed, o.Skipped,
		rep.TotalAssets, rep.ChecksFailed)
	for _, f := range append(slices.Clone(o.FailedAccounts), o.SkippedAccounts...) {
		fmt.Fprintf(w, "  account %s (%s): %s %s\n", f.AccountID, f.IntegrationID, f.Status, strings.TrimSpace(f.Reason))
	}
	if rep.Status != citadel.ScanSucceeded {
		return rep, fmt.Errorf("organization scan %s %s: %s", rep.ScanID, rep.Status, rep.FailureCause)
	}
	return rep, nil
}
