package localrun_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// orgSteps are the organization's steps as stand-ins that record their
// payloads: the orchestration is what is under test (the real steps are
// shared/steps/orgscan's and orgsync's, tested on moto there).
type orgSteps struct {
	mu       sync.Mutex
	seen     map[string]any
	failSync bool
}

func (o *orgSteps) record(k string, v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen[k] = v
}

func (o *orgSteps) runner(concurrency int, account func(citadel.StartScan) error) *localrun.OrgRunner {
	env := stepfn.Env{}
	return &localrun.OrgRunner{
		Concurrency: concurrency,
		Plan: localrun.Of(stepfn.New(citadel.StepOrgPlan, func(_ context.Context, in citadel.PlanInput) (citadel.OrgPlanOutput, error) {
			o.record("plan", in)
			return citadel.OrgPlanOutput{ScanID: in.Scan.ScanID, IntegrationID: in.Scan.IntegrationID}, nil
		}, env, nil)),
		Sync: localrun.Of(stepfn.New(citadel.StepOrgSync, func(_ context.Context, in citadel.OrgSyncInput) (citadel.OrgSyncOutput, error) {
			o.record("sync", in)
			if o.failSync {
				return citadel.OrgSyncOutput{}, citadel.Invalid("organizations: access denied")
			}
			return citadel.OrgSyncOutput{IntegrationID: in.IntegrationID, Listed: 3, Scan: []string{"int-a", "int-b", "int-c"}}, nil
		}, env, nil)),
		Member: localrun.Of(stepfn.New(citadel.StepOrgMember, func(_ context.Context, in citadel.OrgMemberInput) (citadel.OrgMemberResult, error) {
			o.record("member "+in.IntegrationID, in)
			if in.IntegrationID == "int-b" {
				return citadel.OrgMemberResult{Status: citadel.MemberSkipped, Reason: "scan s-9 is running"}, nil
			}
			id := citadel.MemberScanID(in.OrgScanID, in.IntegrationID)
			return citadel.OrgMemberResult{IntegrationID: in.IntegrationID, ScanID: id, Status: citadel.MemberStarted,
				Scan: &citadel.StartScan{ScanID: id, IntegrationID: in.IntegrationID, Trigger: citadel.TriggerOrganization}}, nil
		}, env, nil)),
		Summary: localrun.Of(stepfn.New(citadel.StepOrgSummary, func(_ context.Context, in citadel.OrgSummaryInput) (citadel.OrgSummaryOutput, error) {
			o.record("summary", in)
			st := citadel.ScanSucceeded
			if in.Error != nil {
				st = citadel.ScanFailed
			}
			return citadel.OrgSummaryOutput{ScanID: in.Scan.ScanID, Status: st, Organization: citadel.OrgScanSummary{Members: len(in.Members)}}, nil
		}, env, nil)),
		Account: func() *localrun.Runner {
			return &localrun.Runner{Steps: []localrun.Step{
				localrun.Of(stepfn.New(citadel.StepPlan, func(_ context.Context, in citadel.PlanInput) (citadel.PlanOutput, error) {
					o.record("account "+in.Scan.IntegrationID, in.Scan)
					return citadel.PlanOutput{ScanID: in.Scan.ScanID}, account(in.Scan)
				}, env, nil)),
				localrun.Of(stepfn.New(citadel.StepFinalize, func(_ context.Context, in citadel.FinalizeInput) (citadel.FinalizeOutput, error) {
					return citadel.FinalizeOutput{ScanID: in.Scan.ScanID, Status: citadel.ScanSucceeded}, nil
				}, env, nil)),
			}}
		},
	}
}

func TestOrgRunPlaysTheOrganizationStateMachine(t *testing.T) {
	for _, concurrency := range []int{0, 2, 10} {
		o := &orgSteps{seen: map[string]any{}}
		var got []citadel.OrgMemberResult
		var mu sync.Mutex
		r := o.runner(concurrency, func(sc citadel.StartScan) error {
			if sc.IntegrationID == "int-c" {
				return citadel.Invalid("plan: no check maps to the frameworks")
			}
			return nil
		})
		r.OnMember = func(m citadel.OrgMemberResult) { mu.Lock(); got = append(got, m); mu.Unlock() }
		start := citadel.StartScan{ScanID: "scan-org", IntegrationID: "int-org", Trigger: citadel.TriggerAPI}
		res, err := r.Run(context.Background(), start, "arn:local:execution:org:scan-org")
		if err != nil {
			t.Fatal(err)
		}
		want := []citadel.OrgMemberResult{
			{IntegrationID: "int-a", Status: citadel.MemberScanned},
			{IntegrationID: "int-b", Status: citadel.MemberSkipped, Reason: "scan s-9 is running"},
			{IntegrationID: "int-c", Status: citadel.MemberFailed, Reason: stepfn.ErrorType(citadel.Invalid("x"))},
		}
		if d := cmp.Diff(want, res.Members); d != "" {
			t.Errorf("concurrency %d: members (-want +got):\n%s", concurrency, d)
		}
		if len(got) != 3 {
			t.Errorf("concurrency %d: OnMember saw %d members", concurrency, len(got))
		}
		if res.Failed != nil || res.Final.Status != citadel.ScanSucceeded || res.Final.Organization.Members != 3 {
			t.Errorf("concurrency %d: failed %v, final %+v", concurrency, res.Failed, res.Final)
		}
		if d := cmp.Diff(citadel.PlanInput{Scan: start, ExecutionARN: "arn:local:execution:org:scan-org"}, o.seen["plan"]); d != "" {
			t.Errorf("org-plan input (-want +got):\n%s", d)
		}
		if d := cmp.Diff(citadel.OrgSyncInput{IntegrationID: "int-org", ScanID: "scan-org"}, o.seen["sync"]); d != "" {
			t.Errorf("org-sync input (-want +got):\n%s", d)
		}
		if d := cmp.Diff(citadel.OrgMemberInput{IntegrationID: "int-a", OrgScanID: "scan-org", OrgIntegrationID: "int-org"}, o.seen["member int-a"]); d != "" {
			t.Errorf("org-member input (-want +got):\n%s", d)
		}
		wantChild := citadel.StartScan{ScanID: citadel.MemberScanID("scan-org", "int-a"), IntegrationID: "int-a", Trigger: citadel.TriggerOrganization}
		if d := cmp.Diff(wantChild, o.seen["account int-a"]); d != "" {
			t.Errorf("child scan (-want +got):\n%s", d)
		}
		if _, ran := o.seen["account int-b"]; ran {
			t.Error("a skipped member was scanned")
		}
		sum := o.seen["summary"].(citadel.OrgSummaryInput)
		if d := cmp.Diff(want, sum.Members); d != "" {
			t.Errorf("org-summary's members (-want +got):\n%s", d)
		}
	}
}

// A failing sync goes to org-summary under "error", with no members, as
// the state machine's Catch does.
func TestOrgRunCatchesAFailureIntoTheSummary(t *testing.T) {
	o := &orgSteps{seen: map[string]any{}, failSync: true}
	res, err := o.runner(1, func(citadel.StartScan) error { return nil }).Run(context.Background(),
		citadel.StartScan{ScanID: "scan-org", IntegrationID: "int-org", Trigger: citadel.TriggerAPI}, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed == nil || res.Final.Status != citadel.ScanFailed {
		t.Fatalf("failed %v, final %+v", res.Failed, res.Final)
	}
	sum := o.seen["summary"].(citadel.OrgSummaryInput)
	if sum.Error == nil || sum.Error.Cause != res.Failed.Cause || len(sum.Members) != 0 {
		t.Errorf("org-summary's input: error %+v, %d members", sum.Error, len(sum.Members))
	}
	if _, ok := o.seen["member int-a"]; ok {
		t.Error("members ran after the sync failed")
	}
}

func TestOrgRunNeedsItsSteps(t *testing.T) {
	_, err := (&localrun.OrgRunner{}).Run(context.Background(), citadel.StartScan{}, "")
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("an empty organization runner: %v", err)
	}
}
