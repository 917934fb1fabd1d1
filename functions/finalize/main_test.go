package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The built bootstrap, under the Lambda Runtime Interface Emulator, finalizes
// the scans of its sample events.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	first := citadel.Scan{ID: "scn-demo-0001", IntegrationID: "int-demo", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: time.Now().UTC()}
	if err := store.StartScan(ctx, first); err != nil {
		t.Fatal(err)
	}

	root := testenv.RepoRoot()
	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "finalize"), map[string]string{citadel.EnvTable: table})

	resp, err := fn.Invoke(ctx, lambdatest.Event(t, root, "finalize", "succeeded.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out citadel.FinalizeOutput
	if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
		t.Fatalf("response = %s", resp.Payload)
	}
	if out.Status != citadel.ScanSucceeded || out.Summary.ResultsCreated != 30 || out.Summary.ChecksFailed != 9 || !out.Summary.Success {
		t.Errorf("outcome = %+v", out)
	}

	sc := citadel.Scan{ID: "scn-demo-0002", IntegrationID: "int-demo", Trigger: citadel.TriggerSchedule, Status: citadel.ScanQueued, CreatedAt: time.Now().UTC()}
	if err := store.StartScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	resp, err = fn.Invoke(ctx, lambdatest.Event(t, root, "finalize", "failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp.Payload, &out); err != nil || out.Status != citadel.ScanFailed {
		t.Fatalf("failed event: %s", resp.Payload)
	}
	got, err := store.GetScan(ctx, "scn-demo-0002")
	if err != nil || got.FailureCause != "the prowler step failed: the Prowler task exited 1: Essential container in task exited" {
		t.Errorf("failure cause = %q, %v", got.FailureCause, err)
	}

	// A state that names no scan is refused with the domain error's message.
	resp, err = fn.Invoke(ctx, []byte(`{"scan":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	// Exactly the domain error (a runtime panic or a crash would answer
	// another type and message).
	if resp.ErrorType != "Error" || !strings.Contains(resp.ErrorMsg, "the state names no scan") {
		t.Errorf("bad event: got %s %q, want the domain error naming what is missing", resp.ErrorType, resp.ErrorMsg)
	}
}
