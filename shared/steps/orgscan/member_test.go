package orgscan_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// org-member starts a member's scan as the API would (queued, trigger
// organization, the organization scan its parent, the member's lock); the
// organization's own account starts under the organization scan's lock; a
// member scanning already, archived since the sync, or an ended
// organization scan is skipped; an item naming no member fails the item,
// not the Map; only a malformed item is an error.
func TestStarter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	prodID, devID := f.members[prod].ID, f.members[dev].ID
	stage := f.org.Member("100000000004", "stage", t0)
	gone := f.org.Member("100000000005", "gone", t0)
	for _, m := range []citadel.Integration{stage, gone} {
		if err := f.store.CreateIntegration(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	outsider := citadel.Integration{ID: "int-outsider", FolderID: folder, Name: "outsider", AccountID: "100000000006", CreatedAt: t0, UpdatedAt: t0}
	if err := f.store.CreateIntegration(ctx, outsider); err != nil {
		t.Fatal(err)
	}
	started := func(id string) citadel.OrgMemberResult {
		sid := citadel.MemberScanID(orgScanID, id)
		return citadel.OrgMemberResult{IntegrationID: id, ScanID: sid, Status: citadel.MemberStarted,
			Scan: &citadel.StartScan{ScanID: sid, IntegrationID: id, Trigger: citadel.TriggerOrganization}}
	}
	// apiScan records a scan of integration id started by the API, its
	// execution running; stopped, its execution is aborted.
	apiScan := func(t *testing.T, id, scanID string, stopped bool) {
		t.Helper()
		sc := citadel.Scan{ID: scanID, IntegrationID: id, FolderID: folder, Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
		if err := f.locks.Start(ctx, sc); err != nil {
			t.Fatal(err)
		}
		out, err := f.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(f.smARN), Name: aws.String(scanID)})
		if err != nil {
			t.Fatal(err)
		}
		if !stopped {
			return
		}
		if _, err := f.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: out.ExecutionArn}); err != nil {
			t.Fatal(err)
		}
	}
	item := func(id string) citadel.OrgMemberInput {
		return citadel.OrgMemberInput{IntegrationID: id, OrgScanID: orgScanID, OrgIntegrationID: orgID}
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T)
		in      citadel.OrgMemberInput
		want    citadel.OrgMemberResult
		err     string
		lockFor string // the scan that holds the integration's lock afterwards
	}{
		{name: "a member: started", in: item(prodID), want: started(prodID), lockFor: started(prodID).ScanID},
		{name: "again (a retry): the same scan", in: item(prodID), want: started(prodID), lockFor: started(prodID).ScanID},
		{name: "the organization's own account: under its lock", in: item(orgID), want: started(orgID), lockFor: orgScanID},
		{name: "a member scanning already: skipped", setup: func(t *testing.T) { apiScan(t, devID, "scan-dev-api", false) },
			in: item(devID), want: citadel.OrgMemberResult{IntegrationID: devID, Status: citadel.MemberSkipped,
				Reason: "scan scan-dev-api of the account is queued"}, lockFor: "scan-dev-api"},
		{name: "a holder whose execution ended: taken over", setup: func(t *testing.T) { apiScan(t, stage.ID, "scan-stage-api", true) },
			in: item(stage.ID), want: started(stage.ID), lockFor: started(stage.ID).ScanID},
		{name: "archived since the sync: skipped", setup: func(t *testing.T) {
			if err := f.store.ArchiveIntegration(ctx, gone.ID, t0); err != nil {
				t.Fatal(err)
			}
		}, in: item(gone.ID), want: citadel.OrgMemberResult{IntegrationID: gone.ID, Status: citadel.MemberSkipped,
			Reason: "integration " + gone.ID + " was deleted or archived since the organization sync"}},
		{name: "not a member: the item fails", in: item(outsider.ID), want: citadel.OrgMemberResult{IntegrationID: outsider.ID,
			Status: citadel.MemberFailed, Reason: "org member: integration int-outsider is not a member of organization int-org"}},
		{name: "a malformed item", in: citadel.OrgMemberInput{IntegrationID: prodID, OrgScanID: "", OrgIntegrationID: orgID},
			err: `org member: org_scan_id "" is not an id`},
		{name: "the organization scan ended: skipped", setup: func(t *testing.T) {
			if _, err := f.locks.Cancel(ctx, orgScanID, "alice"); err != nil {
				t.Fatal(err)
			}
		}, in: item(outsider.ID), want: citadel.OrgMemberResult{IntegrationID: outsider.ID, Status: citadel.MemberSkipped,
			Reason: "the organization scan scan-org-1 is cancelled"}},
	}
	step := f.starter()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			got, err := step.Run(ctx, tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || citadel.IsRetryable(err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("result (-want +got):\n%s", d)
			}
			if tt.lockFor != "" {
				if holder, err := f.store.RunningScan(ctx, tt.in.IntegrationID); err != nil || holder.ID != tt.lockFor {
					t.Errorf("lock held by %q (%v), want %s", holder.ID, err, tt.lockFor)
				}
			}
			if got.Status != citadel.MemberStarted {
				return
			}
			sc, err := f.store.GetScanOf(ctx, tt.in.IntegrationID, got.ScanID)
			if err != nil {
				t.Fatal(err)
			}
			want := citadel.Scan{ID: got.ScanID, IntegrationID: tt.in.IntegrationID, FolderID: folder, Trigger: citadel.TriggerOrganization,
				ParentScanID: orgScanID, Status: citadel.ScanQueued, CreatedAt: t0}
			if d := cmp.Diff(want, sc); d != "" {
				t.Errorf("member scan record (-want +got):\n%s", d)
			}
		})
	}
	// The taken-over holder ended as its execution did.
	if old, err := f.store.GetScan(ctx, "scan-stage-api"); err != nil || old.Status != citadel.ScanCancelled {
		t.Errorf("taken-over scan = %+v (%v), want cancelled", old, err)
	}
}

// MemberScanID is deterministic, a valid id and execution name (at most 80
// characters of [0-9A-Za-z_-]), begins with the organization scan's id
// (a member's scans sort by time) and differs between members.
func TestMemberScanID(t *testing.T) {
	for _, org := range []string{"scan-01jv3q7d5h8k2m4n6p8r0s2t4v", "sched-2f0c8a52-7d0e-4c1b-9b7f-2a1d4c5e6f70"} {
		a, b := citadel.MemberScanID(org, "int-111111111111-0a1b2c3d4e5f6a7b8c9d"), citadel.MemberScanID(org, "int-org")
		if a == b || a != citadel.MemberScanID(org, "int-111111111111-0a1b2c3d4e5f6a7b8c9d") {
			t.Errorf("ids %s, %s: want deterministic and distinct", a, b)
		}
		for _, id := range []string{a, b} {
			if !citadel.ValidID(id) || len(id) > 80 || id[:len(org)] != org {
				t.Errorf("%s: not a valid execution name under %s", id, org)
			}
		}
	}
}
