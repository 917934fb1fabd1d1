// Package orgsync is the organization sync: the state before an
// organization's scan maps over its members. Given an organization
// integration (citadel.KindOrganization), it lists the organization's
// accounts through the integration's role (the whole organization, or the
// OUs its options name and every OU below them), keeps the active ones its
// options select, and brings the organization's member integrations in line:
//
//   - an account in scope with no member gets one (citadel.Integration.Member:
//     a deterministic id, created conditionally, so a retried or concurrent
//     sync finds it instead of making another); one archived earlier is
//     restored, its scans and results as they were;
//   - a member whose inherited settings (role, regions, frameworks, checks)
//     differ from the organization's is rewritten;
//   - a member whose account is out of scope (closed, suspended, moved out
//     of the OUs, excluded, gone) is archived as the API deletes an
//     integration; one a running scan holds is refused and reported, not
//     failed.
//
// Everything is listed before anything is written, so a bad organization
// integration (no organization, an OU it lacks) fails with nothing changed.
// The output is counts and the ids to scan: shared/citadel's OrgSyncOutput.
package orgsync

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the sync needs of the table (*ddb.Store).
type Store interface {
	GetIntegration(ctx context.Context, id string) (citadel.Integration, error)
	GetIntegrationRecord(ctx context.Context, id string) (citadel.Integration, time.Time, error)
	ListMemberIntegrations(ctx context.Context, orgID string) ([]citadel.Integration, error)
	CreateIntegration(ctx context.Context, in citadel.Integration) error
	UpdateIntegration(ctx context.Context, in citadel.Integration) error
	RestoreIntegration(ctx context.Context, in citadel.Integration) error
	RunningScan(ctx context.Context, integrationID string) (citadel.Scan, error)
	ArchiveIntegration(ctx context.Context, id string, at time.Time) error
	RemoveIntegrationFromControls(ctx context.Context, folderID, integrationID string, now time.Time) (int, error)
	Usage() citadel.Usage
}

// SessionName is the role session of the sync's Organizations calls.
const SessionName = "citadel-org-sync"

// DefaultWorkers bounds the member writes in flight.
const DefaultWorkers = 8

// Handler syncs organizations.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store Store
	// AWS is the function's own configuration: the organization
	// integration's role is assumed from it (an organization without a
	// role is Citadel's own account: these credentials themselves).
	AWS aws.Config
	// NewClient makes the Organizations client from the role's
	// configuration; nil is organizations.NewFromConfig.
	NewClient func(aws.Config) Organizations
	// PageSize is the page size of Organizations' list calls; 0 is the
	// service's own.
	PageSize int32
	// Workers bounds the member writes in flight; 0 is DefaultWorkers.
	Workers int
	// MaxAccounts is the most accounts one scan may reach; 0 is
	// citadel.MaxOrgScanAccounts.
	MaxAccounts int
}

// Handle syncs the members of organization integration in.IntegrationID.
// Retrying it is safe: members have deterministic ids, creates are
// conditional and a second run finds what the first wrote (kept).
func (h *Handler) Handle(ctx context.Context, in citadel.OrgSyncInput) (citadel.OrgSyncOutput, error) {
	if !citadel.ValidID(in.IntegrationID) {
		return citadel.OrgSyncOutput{}, citadel.Invalid("org sync: integration_id %q is not an integration id", in.IntegrationID)
	}
	before := h.Store.Usage()
	org, err := h.organization(ctx, in.IntegrationID)
	if err != nil {
		return citadel.OrgSyncOutput{}, err
	}
	out := citadel.OrgSyncOutput{IntegrationID: org.ID, FolderID: org.FolderID, Scan: []string{}}
	log := h.Logger().With("step", citadel.StepOrgSync, "integration_id", org.ID, "folder_id", org.FolderID)

	opts := citadel.OrganizationOptions{}
	if org.Organization != nil {
		opts = *org.Organization
	}
	listed, err := lister{c: h.client(org), limit: h.pageSize()}.accounts(ctx, opts.OUs)
	if err != nil {
		return out, fail(err, "org sync of integration %s (account %s)", org.ID, org.AccountID)
	}
	sel := Select(listed, opts)
	out.Listed, out.SkippedSuspended, out.Excluded = sel.Listed, sel.Inactive, sel.Excluded
	if len(sel.Unlisted) > 0 {
		log.WarnContext(ctx, "included accounts not in the organization's scope", "accounts", sel.Unlisted)
	}
	if n, most := len(sel.Members)+1, h.maxAccounts(); n > most {
		return out, citadel.Invalid("org sync of integration %s: its scope is %d accounts with its own; one organization scan reaches at most %d "+
			"(its members' Map shares one execution history): narrow organization.ous or include_accounts, or make one organization integration per OU",
			org.ID, n, most)
	}
	members, err := h.Store.ListMemberIntegrations(ctx, org.ID)
	if err != nil {
		return out, fail(err, "org sync of integration %s: its members", org.ID)
	}

	changes := Plan(org, sel.Members, members)
	results, err := h.apply(ctx, org, changes)
	if err != nil {
		return out, fail(err, "org sync of integration %s", org.ID)
	}
	tally(&out, results)
	if changes.Own {
		out.Scan = append(out.Scan, org.ID)
		slices.Sort(out.Scan)
	}
	for _, p := range out.Problems {
		log.WarnContext(ctx, "member left as it was", "account_id", p.AccountID, "member_id", p.IntegrationID, "reason", p.Reason)
	}
	out.Usage = h.Store.Usage().Sub(before)
	log.InfoContext(ctx, "organization synced", "listed", out.Listed, "skipped_suspended", out.SkippedSuspended,
		"excluded", out.Excluded, "added", out.Added, "restored", out.Restored, "updated", out.Updated, "kept", out.Kept,
		"archived", out.Archived, "refused", out.Refused, "scan", len(out.Scan), "write_units", out.Usage.WriteUnits)
	return out, nil
}

func (h *Handler) maxAccounts() int {
	if h.MaxAccounts > 0 {
		return h.MaxAccounts
	}
	return citadel.MaxOrgScanAccounts
}

// organization reads and checks the organization integration.
func (h *Handler) organization(ctx context.Context, id string) (citadel.Integration, error) {
	org, err := h.Store.GetIntegration(ctx, id)
	if err != nil {
		return org, fail(err, "org sync: integration %s", id)
	}
	if !org.IsOrganization() {
		return org, citadel.Invalid("org sync: integration %s is of kind %s, not %s: it has no member accounts to sync",
			id, kindName(org.Kind), citadel.KindOrganization)
	}
	if err := org.Validate(); err != nil {
		return org, fail(err, "org sync: integration %s", id)
	}
	return org, nil
}

func kindName(k citadel.IntegrationKind) citadel.IntegrationKind {
	if k == "" {
		return citadel.KindAccount
	}
	return k
}

// client is the Organizations client through the organization's role.
func (h *Handler) client(org citadel.Integration) Organizations {
	cfg := awsx.AssumeRole(h.AWS, org.RoleARN, org.ExternalID, SessionName)
	if h.NewClient != nil {
		return h.NewClient(cfg)
	}
	return organizations.NewFromConfig(cfg)
}

func (h *Handler) pageSize() *int32 {
	if h.PageSize <= 0 {
		return nil
	}
	return aws.Int32(h.PageSize)
}

// apply makes the changes, DefaultWorkers (or Workers) at a time; the first
// error stops the rest (what was written stays: a retry finds it).
func (h *Handler) apply(ctx context.Context, org citadel.Integration, c Changes) ([]result, error) {
	now := h.Now()
	var tasks []func(context.Context) (result, error)
	for _, a := range c.Create {
		tasks = append(tasks, func(ctx context.Context) (result, error) { return h.create(ctx, org, a, now) })
	}
	for _, m := range c.Check {
		tasks = append(tasks, func(ctx context.Context) (result, error) { return h.check(ctx, org, m, c.Names[m.AccountID], now) })
	}
	for _, m := range c.Archive {
		tasks = append(tasks, func(ctx context.Context) (result, error) { return h.archive(ctx, m, now) })
	}
	results := make([]result, len(tasks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.workers())
	for i, task := range tasks {
		g.Go(func() error {
			r, err := task(gctx)
			results[i] = r
			return err
		})
	}
	return results, g.Wait()
}

func (h *Handler) workers() int {
	if h.Workers > 0 {
		return h.Workers
	}
	return DefaultWorkers
}

// fail wraps err with context; a retryable cause stays retryable in the
// chain, and the step contract (shared/stepfn) returns it as the type the
// state machine retries on; a domain error keeps its code.
func fail(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
