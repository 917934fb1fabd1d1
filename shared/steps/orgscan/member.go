package orgscan

import (
	"context"
	"fmt"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Starter is org-member, the first state of each item of the organization
// scan's Map.
type Starter struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store Store
	// Locks take the member's lock (over from a scan whose execution has
	// ended, asking Step Functions about it): the API's scanend.Locks, on
	// the account state machine.
	Locks *scanend.Locks
}

// Handle starts member in.IntegrationID's scan under organization scan
// in.OrgScanID: a scan record queued (citadel.MemberScanID, trigger
// organization, the organization scan its parent) with the member's lock,
// and returns the child execution's input. It fails only with what a retry
// may mend (throttling); whatever else keeps a member from starting is its
// result, failed or skipped, so one member never fails the Map:
//
//   - skipped: another scan holds the member (it is scanning already), the
//     member was archived since the sync, or the organization scan has
//     ended (cancelled);
//   - failed: the item names no member of the organization, or the start
//     was refused.
func (s *Starter) Handle(ctx context.Context, in citadel.OrgMemberInput) (citadel.OrgMemberResult, error) {
	for _, f := range []struct{ name, v string }{
		{"integration_id", in.IntegrationID}, {"org_scan_id", in.OrgScanID}, {"org_integration_id", in.OrgIntegrationID},
	} {
		if !citadel.ValidID(f.v) {
			return citadel.OrgMemberResult{}, citadel.Invalid("org member: %s %q is not an id", f.name, f.v)
		}
	}
	res, err := s.start(ctx, in)
	res.IntegrationID = in.IntegrationID
	if err != nil && !citadel.IsRetryable(err) {
		res.Status, res.Reason, err = citadel.MemberFailed, citadel.ClipReason(err.Error()), nil
	}
	if err != nil {
		return citadel.OrgMemberResult{}, err
	}
	log := s.Logger().With("integration_id", in.IntegrationID, "org_scan_id", in.OrgScanID)
	if res.Status == citadel.MemberStarted {
		log.InfoContext(ctx, "member scan started", "scan_id", res.ScanID)
	} else {
		log.WarnContext(ctx, "member not scanned", "status", res.Status, "reason", res.Reason)
	}
	return res, nil
}

func (s *Starter) start(ctx context.Context, in citadel.OrgMemberInput) (citadel.OrgMemberResult, error) {
	skip := func(format string, args ...any) (citadel.OrgMemberResult, error) {
		return citadel.OrgMemberResult{Status: citadel.MemberSkipped, Reason: citadel.ClipReason(fmt.Sprintf(format, args...))}, nil
	}
	parent, err := s.Store.GetScanOf(ctx, in.OrgIntegrationID, in.OrgScanID)
	if err != nil {
		return citadel.OrgMemberResult{}, fail(err, "org member %s: organization scan %s", in.IntegrationID, in.OrgScanID)
	}
	if !parent.Status.Active() {
		return skip("the organization scan %s is %s", parent.ID, parent.Status)
	}
	m, err := s.Store.GetIntegration(ctx, in.IntegrationID)
	switch {
	case citadel.IsNotFound(err):
		return skip("integration %s was deleted or archived since the organization sync", in.IntegrationID)
	case err != nil:
		return citadel.OrgMemberResult{}, fail(err, "org member %s", in.IntegrationID)
	case m.ID != in.OrgIntegrationID && m.ParentID != in.OrgIntegrationID:
		return citadel.OrgMemberResult{}, citadel.Invalid("org member: integration %s is not a member of organization %s", m.ID, in.OrgIntegrationID)
	}
	sc := citadel.Scan{ID: citadel.MemberScanID(in.OrgScanID, m.ID), IntegrationID: m.ID, FolderID: m.FolderID,
		Trigger: citadel.TriggerOrganization, ParentScanID: in.OrgScanID, Status: citadel.ScanQueued, CreatedAt: s.Now()}
	if err := s.Locks.Start(ctx, sc); citadel.IsConflict(err) {
		if holder, herr := s.Store.RunningScan(ctx, m.ID); herr == nil && holder.ID != sc.ID {
			return skip("scan %s of the account is %s", holder.ID, holder.Status)
		}
		return skip("%s", err.Error())
	} else if err != nil {
		return citadel.OrgMemberResult{}, fail(err, "org member %s: start scan %s", m.ID, sc.ID)
	}
	return citadel.OrgMemberResult{ScanID: sc.ID, Status: citadel.MemberStarted,
		Scan: &citadel.StartScan{ScanID: sc.ID, IntegrationID: m.ID, Trigger: citadel.TriggerOrganization}}, nil
}
