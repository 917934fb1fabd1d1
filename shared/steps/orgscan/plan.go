package orgscan

import (
	"context"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Planner is org-plan, the organization scan's first state.
type Planner struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store Store
}

// Handle records organization scan in.Scan running with the execution's
// ARN. The API records the scan queued before it starts the execution; a
// scheduled run has no record yet, so it is recorded here, taking the
// organization's lock (held by another scan: a conflict, and nothing is
// recorded). Retrying it is safe: a running scan stays as it is.
func (p *Planner) Handle(ctx context.Context, in citadel.PlanInput) (citadel.OrgPlanOutput, error) {
	sc := in.Scan
	switch {
	case !citadel.ValidID(sc.ScanID):
		return citadel.OrgPlanOutput{}, citadel.Invalid("org plan: scan_id %q is not a scan id", sc.ScanID)
	case !citadel.ValidID(sc.IntegrationID):
		return citadel.OrgPlanOutput{}, citadel.Invalid("org plan: integration_id %q is not an integration id", sc.IntegrationID)
	case sc.Trigger != citadel.TriggerAPI && sc.Trigger != citadel.TriggerSchedule:
		return citadel.OrgPlanOutput{}, citadel.Invalid("org plan: trigger %q must be api or schedule", sc.Trigger)
	}
	before := p.Store.Usage()
	org, err := p.Store.GetIntegration(ctx, sc.IntegrationID)
	if citadel.IsNotFound(err) && sc.Trigger == citadel.TriggerSchedule {
		return citadel.OrgPlanOutput{}, citadel.NotFound("org plan scan %s: the integration %s of this schedule no longer exists; nothing was scanned",
			sc.ScanID, sc.IntegrationID)
	}
	if err != nil {
		return citadel.OrgPlanOutput{}, fail(err, "org plan scan %s: integration %s", sc.ScanID, sc.IntegrationID)
	}
	if !org.IsOrganization() {
		return citadel.OrgPlanOutput{}, citadel.Invalid("org plan scan %s: integration %s is not of kind %s (its scans run on the scan state machine)",
			sc.ScanID, org.ID, citadel.KindOrganization)
	}
	if err := p.ensureRecord(ctx, sc, org); err != nil {
		return citadel.OrgPlanOutput{}, err
	}
	running, err := p.Store.MarkScanRunning(ctx, org.ID, sc.ScanID, in.ExecutionARN)
	if err != nil {
		return citadel.OrgPlanOutput{}, fail(err, "org plan scan %s: mark running", sc.ScanID)
	}
	p.Logger().InfoContext(ctx, "organization scan running", "scan_id", sc.ScanID, "integration_id", org.ID, "trigger", sc.Trigger)
	return citadel.OrgPlanOutput{ScanID: sc.ScanID, IntegrationID: org.ID, FolderID: org.FolderID, StartedAt: running.StartedAt,
		Usage: p.Store.Usage().Sub(before)}, nil
}

// ensureRecord makes sure the organization scan's record exists, is an
// organization's and can run; a scheduled run's is recorded here.
func (p *Planner) ensureRecord(ctx context.Context, sc citadel.StartScan, org citadel.Integration) error {
	rec, err := p.Store.GetScanOf(ctx, org.ID, sc.ScanID)
	switch {
	case citadel.IsNotFound(err) && sc.Trigger == citadel.TriggerSchedule:
		rec = citadel.Scan{ID: sc.ScanID, IntegrationID: org.ID, FolderID: org.FolderID, Trigger: sc.Trigger,
			Kind: citadel.KindOrganization, Status: citadel.ScanQueued, CreatedAt: p.Now()}
		if err := p.Store.StartScan(ctx, rec); err != nil {
			return fail(err, "org plan scan %s: record the scheduled scan", sc.ScanID)
		}
		return nil
	case citadel.IsNotFound(err):
		return citadel.NotFound("org plan scan %s: no scan record for integration %s (the API records a scan before it starts it)", sc.ScanID, org.ID)
	case err != nil:
		return fail(err, "org plan scan %s: scan record", sc.ScanID)
	case !rec.IsOrganization():
		return citadel.Invalid("org plan scan %s: the scan record is not an organization scan's", sc.ScanID)
	case !rec.Status.Active():
		return citadel.Conflict("org plan scan %s: the scan is already %s", sc.ScanID, rec.Status)
	}
	return nil
}
