package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// fanOutASL is the part of the fan-out's states the test reads.
type fanOutASL struct {
	States map[string]struct {
		aslState
		InputPath      string
		ItemsPath      string
		ItemSelector   map[string]any
		MaxConcurrency float64
		ItemProcessor  struct {
			ProcessorConfig map[string]any
			StartAt         string
			States          map[string]struct {
				aslState
				InputPath string
			}
		}
	}
}

// TestAssetSyncFanOutStates: after asset-sync, a choice on $.assets.fan_out;
// its Map over the items (inline, AssetSyncFanOutConcurrency at once, the
// item's errors caught into its result, the results under $.assets.scopes)
// and the apply, whose output replaces $.assets; every state but the items
// caught into finalize, the Lambda states retried and timed as asset-sync.
func TestAssetSyncFanOutStates(t *testing.T) {
	s := defaultApp(t)
	def := s.definition(t)
	var m fanOutASL
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	sync := m.States[citadel.StepAssetSync]
	if sync.Next != StateAssetSyncFansOut || sync.ResultPath == nil || *sync.ResultPath != "$.assets" {
		t.Errorf("asset-sync: next %q, result path %v", sync.Next, sync.ResultPath)
	}
	choice := m.States[StateAssetSyncFansOut]
	wantChoice := []map[string]any{{"Variable": "$.assets.fan_out", "IsPresent": true, "Next": StateAssetSyncRegions}}
	if diff := cmp.Diff(wantChoice, choice.Choices); diff != "" || choice.Type != "Choice" || choice.Default != citadel.StepProwler {
		t.Errorf("the choice (-want +got):\n%s default %q", diff, choice.Default)
	}

	toFinalize := []aslCatch{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: citadel.StepFinalize}}
	mp := m.States[StateAssetSyncRegions]
	got := map[string]any{"Type": mp.Type, "ItemsPath": mp.ItemsPath, "ItemSelector": mp.ItemSelector, "MaxConcurrency": mp.MaxConcurrency,
		"ResultPath": *mp.ResultPath, "Next": mp.Next, "Mode": mp.ItemProcessor.ProcessorConfig["Mode"], "StartAt": mp.ItemProcessor.StartAt}
	want := map[string]any{"Type": "Map", "ItemsPath": "$.assets.fan_out.items",
		"ItemSelector":   map[string]any{"plan.$": "$.plan", "item.$": "$$.Map.Item.Value"},
		"MaxConcurrency": float64(citadel.AssetSyncFanOutConcurrency), "ResultPath": "$.assets.scopes", "Next": StateAssetSyncApply,
		"Mode": "INLINE", "StartAt": StateAssetSyncItem}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the Map (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(toFinalize, mp.Catch); diff != "" {
		t.Errorf("the Map's catch (-want +got):\n%s", diff)
	}

	items := mp.ItemProcessor.States
	item, done, failed := items[StateAssetSyncItem], items[StateAssetSyncItemDone], items[StateAssetSyncItemFail]
	if len(items) != 3 {
		t.Errorf("%d states in an item, want 3", len(items))
	}
	wantItemCatch := []aslCatch{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: StateAssetSyncItemFail}}
	if diff := cmp.Diff(wantItemCatch, item.Catch); diff != "" || item.Next != StateAssetSyncItemDone || *item.ResultPath != "$.result" || item.Parameters != nil {
		t.Errorf("the item: next %q, result path %v, parameters %v, catch (-want +got):\n%s", item.Next, *item.ResultPath, item.Parameters, diff)
	}
	if done.Type != "Pass" || done.InputPath != "$.result.scope" || !done.End {
		t.Errorf("the item's result: %+v", done)
	}
	wantFailed := map[string]any{"region.$": "$.item.region", "error.$": "$.error.Error"}
	if diff := cmp.Diff(wantFailed, failed.Parameters); diff != "" || failed.Type != "Pass" || !failed.End {
		t.Errorf("a failed item's result (-want +got):\n%s", diff)
	}

	apply := m.States[StateAssetSyncApply]
	wantApply := map[string]any{"plan.$": "$.plan", "fan_out.$": "$.assets.fan_out", "scopes.$": "$.assets.scopes"}
	if diff := cmp.Diff(wantApply, apply.Parameters); diff != "" || apply.Next != citadel.StepProwler || *apply.ResultPath != "$.assets" {
		t.Errorf("the apply: next %q, result path %v, parameters (-want +got):\n%s", apply.Next, *apply.ResultPath, diff)
	}
	if diff := cmp.Diff(toFinalize, apply.Catch); diff != "" {
		t.Errorf("the apply's catch (-want +got):\n%s", diff)
	}

	// The Lambda states are asset-sync's: its function, retries and timeout.
	spec := specOf(FnAssetSync)
	for name, st := range map[string]aslState{citadel.StepAssetSync: sync.aslState, StateAssetSyncItem: item.aslState, StateAssetSyncApply: apply.aslState} {
		if st.Resource != sync.Resource || !strings.HasPrefix(st.Resource, "arn:aws:lambda:") {
			t.Errorf("%s: resource %s, want asset-sync's %s", name, st.Resource, sync.Resource)
		}
		if len(st.Retry) != 1 || st.Retry[0].MaxAttempts != float64(spec.Retries) || st.Retry[0].ErrorEquals[0] != citadel.ErrorTypeRetryable {
			t.Errorf("%s: retry %+v", name, st.Retry)
		}
		if st.TimeoutSeconds != (spec.Timeout + time.Minute).Seconds() {
			t.Errorf("%s: timeout %vs", name, st.TimeoutSeconds)
		}
	}
}

// TestAssetSyncFanOutPayloadContract: what the states pass are the fields
// the handler reads (citadel.AssetSyncInput), a failed item's result is a
// citadel.AssetSyncScope, and the paths they read are where the plan's
// output puts them.
func TestAssetSyncFanOutPayloadContract(t *testing.T) {
	fields := func(v any) map[string]bool {
		out := map[string]bool{}
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			out[name] = true
		}
		return out
	}
	input, scope := fields(citadel.AssetSyncInput{}), fields(citadel.AssetSyncScope{})
	output, fanOut := fields(citadel.AssetSyncOutput{}), fields(citadel.AssetSyncFanOut{})
	for name, c := range map[string]struct {
		payload map[string]any
		into    map[string]bool
	}{
		"item selector": {AssetSyncItemSelector, input}, "apply": {AssetSyncApplyPayload, input}, "failed item": {AssetSyncItemFailed, scope},
	} {
		for k := range c.payload {
			if f := strings.TrimSuffix(k, ".$"); !c.into[f] {
				t.Errorf("%s passes %q, which its handler does not read", name, f)
			}
		}
	}
	if !output["fan_out"] || !fanOut["items"] || !output["scope"] || !input["scopes"] {
		t.Errorf("the paths read ($.assets.fan_out.items, $.result.scope) are not the output's fields: %v %v", output, fanOut)
	}
	if fanOutItemsPath != "$.assets.fan_out.items" || fanOutScopesPath != "$.assets.scopes" {
		t.Errorf("paths %s, %s", fanOutItemsPath, fanOutScopesPath)
	}
}

// TestAssetSyncFanOutRunsOnMoto: the synthesized definition on moto's Step
// Functions engine (testdata/engine/assetsync_probe.py; its Lambda states
// stood in, each item's task a stand-in state machine that fails the item of
// us-west-2): with a fan-out, every item runs and ends as its scope, the
// failed one as its region and error, and the apply gets the plan, the
// fan-out and every item's result; without one, the Map is never entered.
func TestAssetSyncFanOutRunsOnMoto(t *testing.T) {
	python, err := filepath.Abs("../.venv/bin/python")
	if err == nil {
		_, err = os.Stat(python)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the project's .venv is missing: run make venv")
		}
		t.Skip("the project's .venv is missing: run make venv")
	}
	path := filepath.Join(t.TempDir(), "scan.asl.json")
	if err := os.WriteFile(path, defaultApp(t).definition(t), 0o644); err != nil {
		t.Fatal(err)
	}
	regions := []string{"eu-west-1", "us-east-1", "us-west-2"}
	items := []citadel.AssetSyncItem{{Region: citadel.AssetSyncGlobalItem, Regions: regions}, {Region: "eu-west-1"}, {Region: "us-east-1"}, {Region: "us-west-2"}}
	cases := []struct {
		name        string
		regions     []string
		wantEntered []string
		wantApply   *citadel.AssetSyncInput
	}{
		{"no fan-out", nil, []string{citadel.StepPlan, citadel.StepAssetSync, StateAssetSyncFansOut, citadel.StepProwler}, nil},
		{"a fan-out with a failed item", regions,
			// (moto's history names no state for the Map's entry: the items'
			// results in the apply's input show it ran)
			[]string{citadel.StepPlan, citadel.StepAssetSync, StateAssetSyncFansOut, StateAssetSyncApply, citadel.StepProwler},
			&citadel.AssetSyncInput{
				Plan:   citadel.PlanOutput{ScanID: "scan-1", IntegrationID: "int-1", Regions: regions},
				FanOut: &citadel.AssetSyncFanOut{Regions: regions, Items: items},
				Scopes: []citadel.AssetSyncScope{
					{Region: "global", Key: "scans/scan-1/assets/global.json"}, {Region: "eu-west-1", Key: "scans/scan-1/assets/eu-west-1.json"},
					{Region: "us-east-1", Key: "scans/scan-1/assets/us-east-1.json"}, {Region: "us-west-2", Error: "States.TaskFailed"}},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(python, append([]string{"testdata/engine/assetsync_probe.py", path}, tc.regions...)...)
			cmd.Env = append(probeEnviron(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1")
			cmd.Stderr = &strings.Builder{}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("assetsync_probe.py: %v\n%s", err, cmd.Stderr)
			}
			var got struct {
				Status, Error, Cause string
				Entered              []string
				Output               struct {
					Assets json.RawMessage `json:"assets"`
				}
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.Status != "SUCCEEDED" {
				t.Fatalf("execution %s: %s %s", got.Status, got.Error, got.Cause)
			}
			var entered []string // the top-level states, once each
			for _, e := range got.Entered {
				if !slices.Contains(entered, e) && !strings.HasPrefix(e, StateAssetSyncItem) {
					entered = append(entered, e)
				}
			}
			if d := cmp.Diff(tc.wantEntered, entered); d != "" {
				t.Errorf("states entered (-want +got):\n%s", d)
			}
			if tc.wantApply == nil {
				return
			}
			var apply citadel.AssetSyncInput // the apply's stand-in keeps its input at $.assets
			if err := json.Unmarshal(got.Output.Assets, &apply); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(*tc.wantApply, apply); d != "" {
				t.Errorf("the apply's input (-want +got):\n%s\nthe run: %s", d, out)
			}
		})
	}
}
