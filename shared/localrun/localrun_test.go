package localrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// steps records what each step was given, as the state machine would pass it.
func steps(failAt string, seen map[string]string) []localrun.Step {
	fail := func(name string) error {
		if name == failAt {
			return citadel.Retryable(errors.New("throttled"))
		}
		return nil
	}
	return []localrun.Step{
		localrun.Of(stepfn.New(citadel.StepPlan, func(_ context.Context, in citadel.PlanInput) (citadel.PlanOutput, error) {
			seen["plan"] = in.Scan.ScanID
			return citadel.PlanOutput{ScanID: in.Scan.ScanID, IntegrationID: in.Scan.IntegrationID, FolderID: "f1", ChecksPlanned: 3}, fail("plan")
		}, stepfn.Env{}, nil)),
		localrun.Of(stepfn.New(citadel.StepAssetSync, func(_ context.Context, in citadel.AssetSyncInput) (citadel.AssetSyncOutput, error) {
			seen["asset-sync"] = in.Plan.FolderID
			return citadel.AssetSyncOutput{AssetsCreated: 2, TotalAssets: 2}, fail("asset-sync")
		}, stepfn.Env{}, nil)),
		localrun.Of(stepfn.New(citadel.StepCheckResults, func(_ context.Context, in citadel.CheckResultsInput) (citadel.CheckResultsOutput, error) {
			seen["check-results"] = fmt.Sprint(in.Plan.ChecksPlanned)
			return citadel.CheckResultsOutput{ResultsCreated: 5, ChecksFailed: 1}, fail("check-results")
		}, stepfn.Env{}, nil)),
		localrun.Of(stepfn.New(citadel.StepFinalize, func(_ context.Context, in citadel.FinalizeInput) (citadel.FinalizeOutput, error) {
			b, _ := json.Marshal(in)
			seen["finalize"] = string(b)
			st := citadel.ScanSucceeded
			if in.Error != nil {
				st = citadel.ScanFailed
			}
			return citadel.FinalizeOutput{ScanID: in.Scan.ScanID, Status: st, Summary: citadel.Summarize(in, 1)}, nil
		}, stepfn.Env{}, nil)),
	}
}

func TestRunPassesTheStateLikeTheStateMachine(t *testing.T) {
	seen := map[string]string{}
	var events []string
	p := &localrun.Runner{Steps: steps("", seen), OnEvent: func(e localrun.Event) {
		events = append(events, fmt.Sprintf("%s done=%v", e.Step, e.Done))
	}}
	res, err := p.Run(context.Background(), citadel.StartScan{ScanID: "scn-1", IntegrationID: "int-1", Trigger: citadel.TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"plan": "scn-1", "asset-sync": "f1", "check-results": "3"}, without(seen, "finalize")); d != "" {
		t.Errorf("inputs (-want +got):\n%s", d)
	}
	var fin citadel.FinalizeInput
	if err := json.Unmarshal([]byte(seen["finalize"]), &fin); err != nil {
		t.Fatal(err)
	}
	if fin.Assets.AssetsCreated != 2 || fin.Results.ResultsCreated != 5 || fin.Plan.ChecksPlanned != 3 || fin.Error != nil {
		t.Errorf("finalize saw %+v", fin)
	}
	if res.Final.Status != citadel.ScanSucceeded || res.Final.Summary.ChecksFailed != 1 || res.Failed != nil {
		t.Errorf("result = %+v", res.Final)
	}
	if len(events) != 8 || events[0] != "plan done=false" || events[7] != "finalize done=true" {
		t.Errorf("events = %v", events)
	}
	if d := cmp.Diff([]string{"plan", "asset-sync", "check-results", "finalize"}, p.Names()); d != "" {
		t.Errorf("names: %s", d)
	}
}

func TestRunCatchesAFailureIntoFinalize(t *testing.T) {
	seen := map[string]string{}
	p := &localrun.Runner{Steps: steps("asset-sync", seen)}
	res, err := p.Run(context.Background(), citadel.StartScan{ScanID: "scn-2", IntegrationID: "int-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ran := seen["check-results"]; ran {
		t.Error("a step after the failure ran")
	}
	want := &citadel.StepError{Error: "RetryableError", Cause: "retryable: throttled"}
	if d := cmp.Diff(want, res.Failed); d != "" {
		t.Errorf("caught error (-want +got):\n%s", d)
	}
	var fin citadel.FinalizeInput
	_ = json.Unmarshal([]byte(seen["finalize"]), &fin)
	if fin.Error == nil || *fin.Error != *want || fin.Plan.ScanID != "scn-2" {
		t.Errorf("finalize saw %+v", fin)
	}
	if res.Final.Status != citadel.ScanFailed {
		t.Errorf("status = %s", res.Final.Status)
	}
}

func TestRunNeedsFinalizeLast(t *testing.T) {
	p := &localrun.Runner{Steps: steps("", map[string]string{})[:2]}
	if _, err := p.Run(context.Background(), citadel.StartScan{}); err == nil {
		t.Error("a pipeline without finalize ran")
	}
}

func without(m map[string]string, k string) map[string]string {
	out := map[string]string{}
	for kk, v := range m {
		if kk != k {
			out[kk] = v
		}
	}
	return out
}
