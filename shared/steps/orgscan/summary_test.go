package orgscan_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// org-summary reads each started member's scan record, ends the ones
// whose execution never started or ended unseen, rolls their summaries
// and outcomes up onto the organization scan (succeeded: one member's
// failure is in the summary, not the organization scan's status) and
// releases the organization's lock; a retry returns what was recorded.
func TestSummarizerRollsMembersUp(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	start := f.starter()
	extra := map[string]citadel.Integration{}
	for _, a := range []string{"100000000011", "100000000012", "100000000013"} {
		m := f.org.Member(a, "acct "+a, t0)
		if err := f.store.CreateIntegration(ctx, m); err != nil {
			t.Fatal(err)
		}
		extra[a] = m
	}
	begin := func(id string) citadel.OrgMemberResult {
		t.Helper()
		res, err := start.Run(ctx, citadel.OrgMemberInput{IntegrationID: id, OrgScanID: orgScanID, OrgIntegrationID: orgID})
		if err != nil || res.Status != citadel.MemberStarted {
			t.Fatalf("start %s: %+v, %v", id, res, err)
		}
		return res
	}
	// What the Map's items end as: ids and a status.
	ended := func(r citadel.OrgMemberResult, st citadel.MemberStatus, reason string) citadel.OrgMemberResult {
		return citadel.OrgMemberResult{IntegrationID: r.IntegrationID, Status: st, Reason: reason}
	}
	// prod succeeds, the organization's own account fails.
	rProd, rOwn := begin(f.members[prod].ID), begin(orgID)
	f.execute(t, rProd)
	f.execute(t, rOwn)
	f.finish(t, rProd.IntegrationID, rProd.ScanID, citadel.ScanSucceeded, "",
		citadel.ScanSummary{Success: true, TotalAssets: 5, ChecksExecuted: 10, ChecksPassed: 7, ChecksFailed: 3, ResultsCreated: 10})
	f.finish(t, orgID, rOwn.ScanID, citadel.ScanFailed, "the prowler step failed: the Prowler task exited 1",
		citadel.ScanSummary{TotalAssets: 2, ResultsCreated: 0})
	// 11: its execution never started; 12: stopped, the scan not ended
	// yet; 13: its execution still runs.
	r11, r12, r13 := begin(extra["100000000011"].ID), begin(extra["100000000012"].ID), begin(extra["100000000013"].ID)
	arn12 := f.execute(t, r12)
	f.execute(t, r13)
	if _, err := f.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn12)}); err != nil {
		t.Fatal(err)
	}
	devID := f.members[dev].ID
	in := citadel.OrgSummaryInput{
		Scan: citadel.StartScan{ScanID: orgScanID, IntegrationID: orgID, Trigger: citadel.TriggerAPI},
		Plan: citadel.OrgPlanOutput{ScanID: orgScanID, IntegrationID: orgID, FolderID: folder, StartedAt: t0},
		Sync: citadel.OrgSyncOutput{IntegrationID: orgID, FolderID: folder, Listed: 7, Kept: 5, Added: 1,
			Scan: []string{rProd.IntegrationID, devID, "int-stage", r11.IntegrationID, r12.IntegrationID, r13.IntegrationID, orgID}},
		Members: []citadel.OrgMemberResult{
			ended(rProd, citadel.MemberScanned, ""),
			{IntegrationID: devID, Status: citadel.MemberSkipped, Reason: "scan scan-dev-api of the account is running"},
			{IntegrationID: "int-stage", Status: citadel.MemberFailed, Reason: citadel.ErrorTypeRetryable},
			ended(r11, citadel.MemberFailed, "StepFunctions.ExecutionLimitExceededException"),
			ended(r12, citadel.MemberFailed, "States.TaskFailed"),
			// 13's item is missing: the Map ended before it (failed).
			ended(rOwn, citadel.MemberFailed, "States.TaskFailed"),
		},
	}
	step := f.summarizer()
	got, err := step.Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	wantRoll := citadel.OrgScanSummary{Members: 7, Succeeded: 1, Failed: 5, Skipped: 1,
		FailedAccounts: []citadel.OrgMemberOutcome{
			{IntegrationID: "int-stage", Status: "failed", Reason: citadel.ErrorTypeRetryable}, // no record: no account, first
			{IntegrationID: orgID, AccountID: management, ScanID: rOwn.ScanID, Status: "failed", Reason: "the prowler step failed: the Prowler task exited 1"},
			{IntegrationID: r11.IntegrationID, AccountID: "100000000011", ScanID: r11.ScanID, Status: "failed",
				Reason: "the organization scan could not start the member scan's execution: StepFunctions.ExecutionLimitExceededException"},
			{IntegrationID: r12.IntegrationID, AccountID: "100000000012", ScanID: r12.ScanID, Status: "cancelled",
				Reason: "the scan's execution was stopped outside Citadel"},
			{IntegrationID: r13.IntegrationID, AccountID: "100000000013", ScanID: r13.ScanID, Status: "queued",
				Reason: "still queued when the organization scan ended"},
		},
		SkippedAccounts: []citadel.OrgMemberOutcome{{IntegrationID: devID, AccountID: dev, Status: "skipped",
			Reason: "scan scan-dev-api of the account is running"}},
		Sync: citadel.OrgSyncCounts{Listed: 7, Kept: 5, Added: 1},
	}
	wantSum := citadel.ScanSummary{Success: false, TotalAssets: 7, ChecksExecuted: 10, ChecksPassed: 7, ChecksFailed: 3, ResultsCreated: 10,
		Message: "Organization scan complete: 7 accounts, 1 succeeded, 5 failed, 1 skipped; 3 issues found"}
	want := citadel.OrgSummaryOutput{ScanID: orgScanID, Status: citadel.ScanSucceeded, Summary: wantSum, Organization: wantRoll}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	sc, err := f.store.GetScan(ctx, orgScanID)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Status != citadel.ScanSucceeded || !sc.FinishedAt.Equal(t0) {
		t.Errorf("organization scan record = %+v", sc)
	}
	if d := cmp.Diff(&wantSum, sc.Summary); d != "" {
		t.Errorf("stored summary (-want +got):\n%s", d)
	}
	if d := cmp.Diff(&wantRoll, sc.Organization); d != "" {
		t.Errorf("stored roll-up (-want +got):\n%s", d)
	}
	if _, err := f.store.RunningScan(ctx, orgID); !citadel.IsNotFound(err) {
		t.Errorf("the organization's lock: %v, want released", err)
	}
	// The members it ended, and the one it left running (with its lock).
	for id, want := range map[string]citadel.ScanStatus{r11.ScanID: citadel.ScanFailed, r12.ScanID: citadel.ScanCancelled, r13.ScanID: citadel.ScanQueued} {
		if sc, err := f.store.GetScan(ctx, id); err != nil || sc.Status != want {
			t.Errorf("member scan %s = %s (%v), want %s", id, sc.Status, err, want)
		}
	}
	if holder, err := f.store.RunningScan(ctx, r13.IntegrationID); err != nil || holder.ID != r13.ScanID {
		t.Errorf("the running member's lock: %q (%v)", holder.ID, err)
	}
	// A retry returns what was recorded, and changes nothing.
	again, err := step.Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, again); d != "" {
		t.Errorf("retried summary (-first +again):\n%s", d)
	}
}

// When one of the organization scan's own states failed it is recorded
// failed with that state's cause, its lock released; a run that failed
// before its scan was recorded records nothing.
func TestSummarizerOwnFailure(t *testing.T) {
	syncErr := &citadel.StepError{Error: "Error",
		Cause: `{"errorMessage":"org sync of integration int-org (account 100000000001): access denied","errorType":"Error"}`}
	tests := []struct {
		name     string
		in       citadel.OrgSummaryInput
		recorded bool
		want     citadel.OrgSummaryOutput
	}{
		{name: "org-sync failed", recorded: true, in: citadel.OrgSummaryInput{
			Scan:  citadel.StartScan{ScanID: orgScanID, IntegrationID: orgID, Trigger: citadel.TriggerAPI},
			Plan:  citadel.OrgPlanOutput{ScanID: orgScanID, IntegrationID: orgID, FolderID: folder, StartedAt: t0},
			Error: syncErr},
			want: citadel.OrgSummaryOutput{ScanID: orgScanID, Status: citadel.ScanFailed,
				Summary: citadel.ScanSummary{Message: "Organization scan failed: the org-sync step failed: org sync of integration int-org (account 100000000001): access denied"}}},
		{name: "org-plan refused a scheduled run", in: citadel.OrgSummaryInput{
			Scan: citadel.StartScan{ScanID: "sched-9", IntegrationID: orgID, Trigger: citadel.TriggerSchedule},
			Error: &citadel.StepError{Error: "Error",
				Cause: `{"errorMessage":"org plan scan sched-9: record the scheduled scan: integration int-org already has scan scan-org-1 running","errorType":"Error"}`}},
			want: citadel.OrgSummaryOutput{ScanID: "sched-9", Status: citadel.ScanFailed, Summary: citadel.ScanSummary{
				Message: "Organization scan failed: the org-plan step failed: org plan scan sched-9: record the scheduled scan: integration int-org already has scan scan-org-1 running"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, true)
			got, err := f.summarizer().Run(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(citadel.ScanSummary{}, "DurationSeconds"),
				cmpopts.IgnoreFields(citadel.OrgSummaryOutput{}, "Organization")); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
			sc, err := f.store.GetScan(ctx, orgScanID)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.recorded {
				if sc.Status != citadel.ScanRunning {
					t.Errorf("the running organization scan was changed: %+v", sc)
				}
				if _, err := f.store.GetScan(ctx, tt.in.Scan.ScanID); !citadel.IsNotFound(err) {
					t.Errorf("an unrecorded run was recorded: %v", err)
				}
				return
			}
			wantCause := tt.want.Summary.Message[len("Organization scan failed: "):]
			if sc.Status != citadel.ScanFailed || sc.FailureCause != wantCause || sc.Summary == nil || sc.Summary.Success {
				t.Errorf("organization scan record = %+v", sc)
			}
			if _, err := f.store.RunningScan(ctx, orgID); !citadel.IsNotFound(err) {
				t.Errorf("the organization's lock: %v, want released", err)
			}
		})
	}
}

// The Map's results stay far under Step Functions' 256 KB state: a
// thousand members' results, with their ids, fit with room to spare.
func TestMemberResultsFitTheState(t *testing.T) {
	const members, limit = 1000, 256 * 1024
	in := citadel.OrgSummaryInput{Scan: citadel.StartScan{ScanID: orgScanID, IntegrationID: orgID, Trigger: citadel.TriggerAPI}}
	for i := range members {
		id := citadel.MemberIntegrationID(orgID, fmt.Sprintf("%012d", 100000000000+i))
		in.Sync.Scan = append(in.Sync.Scan, id)
		in.Members = append(in.Members, citadel.OrgMemberResult{IntegrationID: id, Status: citadel.MemberScanned})
	}
	in.Sync.Problems = make([]citadel.OrgSyncProblem, citadel.MaxOrgSyncProblems)
	for i := range in.Sync.Problems {
		in.Sync.Problems[i] = citadel.OrgSyncProblem{AccountID: "100000000000", IntegrationID: orgID, Reason: citadel.ClipReason(strings.Repeat("why ", 200))}
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > limit*3/4 {
		t.Errorf("%d members: the state is %d bytes, over three quarters of %d", members, len(b), limit)
	}
	t.Logf("%d members: %d bytes (%.0f a member)", members, len(b), float64(len(b))/members)
}
