package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/steptest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The built bootstrap, under the Lambda Runtime Interface Emulator, creates
// the policies of the sample event's SCF controls; a retry counts them again,
// the next scan skips them.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	steptest.SeedSampleScan(t, ctx, store)
	steptest.RunControls(t, ctx, store)

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "policies"), map[string]string{citadel.EnvTable: table})
	event := lambdatest.Event(t, root, "policies", "scan.json")
	run := func() citadel.PoliciesOutput {
		t.Helper()
		resp, err := fn.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var out citadel.PoliciesOutput
		if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
			t.Fatalf("response = %s", resp.Payload)
		}
		out.Usage = citadel.Usage{}
		return out
	}
	// Two of the three SCF controls (IAC-06.1, IAC-06, CRY-05) have a template.
	if got, want := run(), (citadel.PoliciesOutput{PoliciesCreated: 2}); got != want {
		t.Errorf("first run = %+v\nwant        %+v", got, want)
	}
	// The same event again is Step Functions retrying the step: the policies
	// this scan created count as created (its writes found them in place).
	if got, want := run(), (citadel.PoliciesOutput{PoliciesCreated: 2}); got != want {
		t.Errorf("retried run = %+v\nwant          %+v", got, want)
	}
	// The next scan finds them in place.
	event = bytes.ReplaceAll(event, []byte(`"scn-demo-0001"`), []byte(`"scn-demo-0002"`))
	if got, want := run(), (citadel.PoliciesOutput{PoliciesSkipped: 2}); got != want {
		t.Errorf("next scan = %+v\nwant        %+v", got, want)
	}

	// A plan without a folder is refused with the domain error's message.
	resp, err := fn.Invoke(ctx, []byte(`{"plan":{"scan_id":"scn-demo-0001","integration_id":"int-demo"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "the plan needs folder_id") {
		t.Errorf("bad event: got %s, want a function error", resp.Payload)
	}
}
