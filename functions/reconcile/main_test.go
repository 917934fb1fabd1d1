package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/jobs/reconcile"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The state machine the sample events name.
const sampleStateMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:citadel"

// The built bootstrap, under the Lambda Runtime Interface Emulator, ends the
// scans of its sample events, once.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	root := testenv.RepoRoot()
	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "reconcile"),
		map[string]string{citadel.EnvTable: table, citadel.EnvStateMachineARN: sampleStateMachine})

	tests := []struct {
		event, scanID string
		want          reconcile.Outcome
		cause         string
	}{
		{"failed.json", "scn-demo-0003", reconcile.Outcome{ScanID: "scn-demo-0003", Status: citadel.ScanFailed, Changed: true},
			"the scan's execution failed: AWS kept refusing or throttling a request after every retry: finalize scan scn-demo-0003: dynamodb finish scan scn-demo-0003: throttled"},
		{"timed_out.json", "scn-demo-0004", reconcile.Outcome{ScanID: "scn-demo-0004", Status: citadel.ScanTimedOut, Changed: true},
			"the scan hit the 6-hour execution timeout"},
		{"aborted.json", "scn-demo-0005", reconcile.Outcome{ScanID: "scn-demo-0005", Status: citadel.ScanCancelled, Changed: true},
			"the scan's execution was stopped outside Citadel"},
		{"other_state_machine.json", "", reconcile.Outcome{Ignored: "an execution of another state machine"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			if tt.scanID != "" {
				sc := citadel.Scan{ID: tt.scanID, IntegrationID: "int-demo", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: time.Now().UTC()}
				if err := store.StartScan(ctx, sc); err != nil {
					t.Fatal(err)
				}
			}
			event := lambdatest.Event(t, root, "reconcile", tt.event)
			for attempt, want := range []reconcile.Outcome{tt.want, {ScanID: tt.want.ScanID, Status: tt.want.Status, Ignored: tt.want.Ignored}} {
				resp, err := fn.Invoke(ctx, event)
				if err != nil {
					t.Fatal(err)
				}
				var out reconcile.Outcome
				if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
					t.Fatalf("response = %s", resp.Payload)
				}
				if d := cmp.Diff(want, out); d != "" {
					t.Errorf("delivery %d (-want +got):\n%s", attempt+1, d)
				}
			}
			if tt.scanID == "" {
				return
			}
			got, err := store.GetScan(ctx, tt.scanID)
			if err != nil || got.Status != tt.want.Status || got.FailureCause != tt.cause {
				t.Errorf("scan = %s %q, %v; want %s %q", got.Status, got.FailureCause, err, tt.want.Status, tt.cause)
			}
			if _, err := store.RunningScan(ctx, "int-demo"); !citadel.IsNotFound(err) {
				t.Errorf("lock: %v, want released", err)
			}
		})
	}

	// A malformed event is refused with the domain error's message.
	resp, err := fn.Invoke(ctx, []byte(`{"source":"aws.states","detail-type":"Step Functions Execution Status Change","detail":{"status":"FAILED"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType != "Error" || !strings.Contains(resp.ErrorMsg, "detail names no execution") {
		t.Errorf("bad event: got %s %q, want the domain error naming what is missing", resp.ErrorType, resp.ErrorMsg)
	}
}
