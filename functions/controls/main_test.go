package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/steptest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The built bootstrap, under the Lambda Runtime Interface Emulator, sorts the
// sample event's results into controls; a second run changes nothing.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	steptest.SeedSampleScan(t, ctx, store)

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "controls"), map[string]string{citadel.EnvTable: table})
	event := lambdatest.Event(t, root, "controls", "scan.json")
	run := func() citadel.ControlsOutput {
		t.Helper()
		resp, err := fn.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var out citadel.ControlsOutput
		if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
			t.Fatalf("response = %s", resp.Payload)
		}
		out.Usage = citadel.Usage{}
		return out
	}
	// The fixture links the two checks to three SCF controls (IAC-06.1,
	// IAC-06 and CRY-05), mapped to nine requirements.
	if got, want := run(), (citadel.ControlsOutput{ControlsCreated: 3, SCFControls: 3, MappingsCreated: 9}); got != want {
		t.Errorf("first run = %+v\nwant        %+v", got, want)
	}
	all, err := store.AllControls(ctx, "default")
	if err != nil || len(all) != 3 {
		t.Errorf("stored controls: %d, %v", len(all), err)
	}
	if got, want := run(), (citadel.ControlsOutput{SCFControls: 3}); got != want {
		t.Errorf("second run = %+v\nwant         %+v", got, want)
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
