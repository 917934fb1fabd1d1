package orgscan_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/orgscan"
)

// org-plan moves the API's queued organization scan to running with the
// execution's ARN, records a scheduled run's (taking the lock), and
// refuses what cannot run, recording nothing.
func TestPlanner(t *testing.T) {
	const arn = "arn:aws:states:us-east-1:123456789012:execution:org:x"
	ctx := context.Background()
	f := newFixture(t, false)
	// A second organization with no scan, one with a scan running, and an
	// account integration.
	free := f.org
	free.ID, free.AccountID, free.RoleARN = "int-org-free", "100000000009", "arn:aws:iam::100000000009:role/CitadelScanner"
	busy := free
	busy.ID, busy.AccountID, busy.RoleARN = "int-org-busy", "100000000008", "arn:aws:iam::100000000008:role/CitadelScanner"
	acct := citadel.Integration{ID: "int-acct", FolderID: folder, Name: "one", AccountID: "100000000007", CreatedAt: t0, UpdatedAt: t0}
	for _, in := range []citadel.Integration{free, busy, acct} {
		if err := f.store.CreateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	holder := citadel.Scan{ID: "scan-busy", IntegrationID: busy.ID, FolderID: folder, Trigger: citadel.TriggerAPI, Kind: citadel.KindOrganization,
		Status: citadel.ScanQueued, CreatedAt: t0}
	if err := f.store.StartScan(ctx, holder); err != nil {
		t.Fatal(err)
	}
	// Ended records of the free organization: an organization scan's, and
	// one that is not (an account scan's record, from before it was one).
	for _, sc := range []citadel.Scan{
		{ID: "scan-ended", IntegrationID: free.ID, FolderID: folder, Trigger: citadel.TriggerAPI, Kind: citadel.KindOrganization, Status: citadel.ScanQueued, CreatedAt: t0},
		{ID: "scan-account", IntegrationID: free.ID, FolderID: folder, Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0},
	} {
		if err := f.store.StartScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
		sc.Status, sc.FailureCause, sc.FinishedAt = citadel.ScanFailed, "boom", t0
		if _, err := f.store.FinishScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		in      citadel.PlanInput
		want    citadel.OrgPlanOutput
		code    citadel.ErrorCode
		msg     string
		lockFor string // the integration whose lock the scan holds afterwards
	}{
		{name: "api: the queued scan runs", in: planIn(orgScanID, orgID, citadel.TriggerAPI, arn),
			want: citadel.OrgPlanOutput{ScanID: orgScanID, IntegrationID: orgID, FolderID: folder, StartedAt: t0}, lockFor: orgID},
		{name: "api again (a retry)", in: planIn(orgScanID, orgID, citadel.TriggerAPI, arn),
			want: citadel.OrgPlanOutput{ScanID: orgScanID, IntegrationID: orgID, FolderID: folder, StartedAt: t0}, lockFor: orgID},
		{name: "schedule: recorded here", in: planIn("sched-1", free.ID, citadel.TriggerSchedule, arn),
			want: citadel.OrgPlanOutput{ScanID: "sched-1", IntegrationID: free.ID, FolderID: folder, StartedAt: t0}, lockFor: free.ID},
		{name: "schedule refused by the lock", in: planIn("sched-2", busy.ID, citadel.TriggerSchedule, arn),
			code: citadel.CodeConflict, msg: "org plan scan sched-2: record the scheduled scan: integration int-org-busy already has scan scan-busy queued"},
		{name: "schedule of a deleted integration", in: planIn("sched-3", "int-gone", citadel.TriggerSchedule, arn), code: citadel.CodeNotFound,
			msg: "org plan scan sched-3: the integration int-gone of this schedule no longer exists; nothing was scanned"},
		{name: "api without a record", in: planIn("scan-none", orgID, citadel.TriggerAPI, arn), code: citadel.CodeNotFound,
			msg: "org plan scan scan-none: no scan record for integration int-org (the API records a scan before it starts it)"},
		{name: "an ended scan", in: planIn("scan-ended", free.ID, citadel.TriggerAPI, arn), code: citadel.CodeConflict,
			msg: "org plan scan scan-ended: the scan is already failed"},
		{name: "not an organization scan's record", in: planIn("scan-account", free.ID, citadel.TriggerAPI, arn), code: citadel.CodeInvalid,
			msg: "org plan scan scan-account: the scan record is not an organization scan's"},
		{name: "an account integration", in: planIn("scan-x", acct.ID, citadel.TriggerAPI, arn), code: citadel.CodeInvalid,
			msg: "org plan scan scan-x: integration int-acct is not of kind organization (its scans run on the scan state machine)"},
		{name: "bad trigger", in: planIn("scan-x", orgID, citadel.TriggerOrganization, arn), code: citadel.CodeInvalid,
			msg: `org plan: trigger "organization" must be api or schedule`},
		{name: "bad scan id", in: planIn("a b", orgID, citadel.TriggerAPI, arn), code: citadel.CodeInvalid,
			msg: `org plan: scan_id "a b" is not a scan id`},
	}
	h := &orgscan.Planner{Store: f.store, Env: stepfn.Env{Clock: clock}}
	step := stepfn.New(citadel.StepOrgPlan, h.Handle, h.Env, f.store)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := step.Run(ctx, tt.in)
			if tt.code != "" {
				if citadel.CodeOf(err) != tt.code || err.Error() != tt.msg {
					t.Fatalf("error %s %q\nwant  %s %q", citadel.CodeOf(err), err, tt.code, tt.msg)
				}
				if sc, gerr := f.store.GetScan(ctx, tt.in.Scan.ScanID); gerr == nil && sc.Status.Active() {
					t.Errorf("a refused run left scan %s %s", sc.ID, sc.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(citadel.OrgPlanOutput{}, "Usage")); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
			sc, err := f.store.GetScan(ctx, tt.in.Scan.ScanID)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Status != citadel.ScanRunning || sc.ExecutionARN != arn || !sc.IsOrganization() || sc.Trigger != tt.in.Scan.Trigger {
				t.Errorf("scan record = %+v", sc)
			}
			if holder, err := f.store.RunningScan(ctx, tt.lockFor); err != nil || holder.ID != sc.ID {
				t.Errorf("lock of %s held by %q (%v), want %s", tt.lockFor, holder.ID, err, sc.ID)
			}
			if steps, _ := f.store.ScanSteps(ctx, sc.ID); len(steps) != 1 || steps[0].Step != citadel.StepOrgPlan {
				t.Errorf("recorded steps %+v, want org-plan's", steps)
			}
		})
	}
}

func planIn(scanID, integrationID string, trigger citadel.ScanTrigger, arn string) citadel.PlanInput {
	return citadel.PlanInput{Scan: citadel.StartScan{ScanID: scanID, IntegrationID: integrationID, Trigger: trigger}, ExecutionARN: arn}
}
