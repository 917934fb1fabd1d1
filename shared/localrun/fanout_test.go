package localrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// TestAssetSyncFanOut: the local runner plays the state machine's fan-out:
// the plan, every item (at most the concurrency at once; a failed item's
// result its error's name, as the Map's Catch gives it), then the apply
// with every item's result, whose output is the step's; a sync that does
// not fan out is one call.
func TestAssetSyncFanOut(t *testing.T) {
	items := []citadel.AssetSyncItem{{Region: citadel.AssetSyncGlobalItem, Regions: []string{"eu-west-1", "us-east-1", "us-west-2"}},
		{Region: "eu-west-1"}, {Region: "us-east-1"}, {Region: "us-west-2"}}
	cases := []struct {
		name       string
		fanOut     bool
		wantCalls  int
		wantScopes []citadel.AssetSyncScope
	}{
		{"no fan-out", false, 1, nil},
		{"a fan-out with a failed item", true, 1 + len(items) + 1, []citadel.AssetSyncScope{
			{Region: citadel.AssetSyncGlobalItem, Key: "k-global"}, {Region: "eu-west-1", Key: "k-eu-west-1"},
			{Region: "us-east-1", Error: citadel.ErrorTypeRetryable}, {Region: "us-west-2", Key: "k-us-west-2"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls, running, most atomic.Int32
			var mu sync.Mutex
			var applied []citadel.AssetSyncScope
			handle := func(_ context.Context, in citadel.AssetSyncInput) (citadel.AssetSyncOutput, error) {
				calls.Add(1)
				if in.Plan.ScanID != "scan-1" {
					t.Errorf("a call without the plan: %+v", in)
				}
				switch {
				case in.Item != nil:
					n := running.Add(1)
					defer running.Add(-1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					if in.Item.Region == "us-east-1" {
						return citadel.AssetSyncOutput{}, citadel.Retryable(errors.New("throttled"))
					}
					return citadel.AssetSyncOutput{Scope: &citadel.AssetSyncScope{Region: in.Item.Region, Key: "k-" + in.Item.Region}}, nil
				case in.FanOut != nil:
					mu.Lock()
					applied = in.Scopes
					mu.Unlock()
					return citadel.AssetSyncOutput{AssetsCreated: 7, TotalAssets: 7}, nil
				case tc.fanOut:
					return citadel.AssetSyncOutput{FanOut: &citadel.AssetSyncFanOut{Regions: items[0].Regions, Items: items}}, nil
				}
				return citadel.AssetSyncOutput{AssetsCreated: 3, TotalAssets: 3}, nil
			}
			step := localrun.AssetSync(stepfn.New(citadel.StepAssetSync, handle, stepfn.Env{}, nil), 2)
			state, _ := json.Marshal(map[string]any{"plan": citadel.PlanOutput{ScanID: "scan-1", IntegrationID: "int-1"}})
			out, err := step.Run(context.Background(), state)
			if err != nil {
				t.Fatal(err)
			}
			if int(calls.Load()) != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.wantCalls)
			}
			if most.Load() > 2 {
				t.Errorf("%d items at once, past the concurrency of 2", most.Load())
			}
			if d := cmp.Diff(tc.wantScopes, applied); d != "" {
				t.Errorf("the apply's scopes (-want +got):\n%s", d)
			}
			want := 3
			if tc.fanOut {
				want = 7
			}
			if got := out.(citadel.AssetSyncOutput); got.AssetsCreated != want || got.FanOut != nil {
				t.Errorf("output %+v, want the apply's", got)
			}
		})
	}
}
