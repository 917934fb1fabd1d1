package finalize_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// announced is an event as EventBridge delivered it, its detail decoded.
type announced struct {
	Source, DetailType string
	Resources          []string
	Detail             scanend.ScanEndedDetail
}

func decodeEvents(t *testing.T, bodies []string) []announced {
	t.Helper()
	var out []announced
	for _, b := range bodies {
		var ev events.CloudWatchEvent
		if err := json.Unmarshal([]byte(b), &ev); err != nil {
			t.Fatalf("delivered event: %v: %s", err, b)
		}
		a := announced{Source: ev.Source, DetailType: ev.DetailType, Resources: ev.Resources}
		if err := json.Unmarshal(ev.Detail, &a.Detail); err != nil {
			t.Fatalf("detail: %v: %s", err, ev.Detail)
		}
		out = append(out, a)
	}
	return out
}

// Finalize puts the end of the scan it records on the bus, on moto's
// EventBridge (a rule on Citadel's source routes the bus to a queue): "Scan
// Succeeded" or "Scan Failed" with the outcome in the detail; a retried
// finalize, a scan cancelled first and a run that was never recorded
// announce nothing.
func TestFinalizeAnnouncesTheEnd(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	store := testenv.Store(t)
	bus, queue := testenv.EventBus(t, cfg, `{"source":["`+citadel.EventSource+`"]}`)
	now := t0.Add(90 * time.Second)
	h := &finalize.Handler{Store: store, Env: stepfn.Env{Clock: func() time.Time { return now }},
		Announce: &scanend.Announcer{Events: eventbridge.NewFromConfig(cfg), Bus: bus}}
	start := func(t *testing.T, id string) {
		t.Helper()
		sc := citadel.Scan{ID: id, IntegrationID: "int-" + id, FolderID: "f1", Trigger: citadel.TriggerSchedule, Status: citadel.ScanQueued, CreatedAt: t0}
		if err := store.StartScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if _, err := store.MarkScanRunning(ctx, sc.IntegrationID, id, "arn:aws:states:us-east-1:123456789012:execution:scan:"+id); err != nil {
			t.Fatal(err)
		}
	}
	input := func(id string, err *citadel.StepError) citadel.FinalizeInput {
		in := citadel.FinalizeInput{
			Scan:    citadel.StartScan{ScanID: id, IntegrationID: "int-" + id, Trigger: citadel.TriggerSchedule},
			Plan:    citadel.PlanOutput{ScanID: id, IntegrationID: "int-" + id, StartedAt: t0},
			Assets:  citadel.AssetSyncOutput{AssetsCreated: 4, TotalAssets: 4},
			Results: citadel.CheckResultsOutput{ResultsCreated: 7, ChecksFailed: 2, ChecksPassed: 5, ChecksExecuted: 3},
			Error:   err,
		}
		if err != nil { // the Prowler task failed: no results
			in.Results = citadel.CheckResultsOutput{}
		}
		return in
	}
	exec := func(id string) []string {
		return []string{"arn:aws:states:us-east-1:123456789012:execution:scan:" + id}
	}
	tests := []struct {
		name string
		// setUp records the scan (or not) and its earlier end, if any.
		setUp func(t *testing.T, id string)
		err   *citadel.StepError
		twice bool
		want  []announced
	}{
		{"succeeded", start, nil, false, []announced{{Source: citadel.EventSource, DetailType: citadel.EventScanSucceeded, Resources: exec("ok"),
			Detail: scanend.ScanEndedDetail{ID: "ok", ScanID: "ok", IntegrationID: "int-ok", FolderID: "f1", Trigger: citadel.TriggerSchedule,
				Status: citadel.ScanSucceeded, FinishedAt: now, Message: "Scan complete: 2 issues found", DurationSeconds: 90,
				ChecksExecuted: 3, ChecksPassed: 5, ChecksFailed: 2}}}},
		{"failed", start, &citadel.StepError{Error: "States.TaskFailed", Cause: `{"StoppedReason":"Essential container in task exited","Containers":[{"Name":"prowler","ExitCode":1}]}`},
			false, []announced{{Source: citadel.EventSource, DetailType: citadel.EventScanFailed, Resources: exec("bad"),
				Detail: scanend.ScanEndedDetail{ID: "bad", ScanID: "bad", IntegrationID: "int-bad", FolderID: "f1", Trigger: citadel.TriggerSchedule,
					Status: citadel.ScanFailed, FailureCause: "the prowler step failed: the Prowler task exited 1: Essential container in task exited",
					FinishedAt: now, Message: "Scan failed: the prowler step failed: the Prowler task exited 1: Essential container in task exited",
					DurationSeconds: 90}}}},
		{"retried finalize: announced once", start, nil, true, []announced{{Source: citadel.EventSource, DetailType: citadel.EventScanSucceeded,
			Resources: exec("twice"), Detail: scanend.ScanEndedDetail{ID: "twice", ScanID: "twice", IntegrationID: "int-twice", FolderID: "f1",
				Trigger: citadel.TriggerSchedule, Status: citadel.ScanSucceeded, FinishedAt: now, Message: "Scan complete: 2 issues found",
				DurationSeconds: 90, ChecksExecuted: 3, ChecksPassed: 5, ChecksFailed: 2}}}},
		{"cancelled first: the cancel announced it", func(t *testing.T, id string) {
			start(t, id)
			sc, err := store.GetScan(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			sc.Status, sc.FinishedAt, sc.FailureCause = citadel.ScanCancelled, t0.Add(time.Minute), "the scan was cancelled"
			if _, err := store.FinishScan(ctx, sc); err != nil {
				t.Fatal(err)
			}
		}, nil, false, nil},
		{"never recorded", func(*testing.T, string) {}, &citadel.StepError{Error: "Error",
			Cause: `{"errorMessage":"plan: the integration is gone","errorType":"Error"}`}, false, nil},
	}
	ids := map[string]string{"succeeded": "ok", "failed": "bad", "retried finalize: announced once": "twice",
		"cancelled first: the cancel announced it": "cancelled", "never recorded": "gone"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := ids[tt.name]
			tt.setUp(t, id)
			for range map[bool]int{false: 1, true: 2}[tt.twice] {
				if _, err := h.Handle(ctx, input(id, tt.err)); err != nil {
					t.Fatal(err)
				}
			}
			// One more than expected, so a second event would be seen.
			wait := 3 * time.Second
			if len(tt.want) == 0 {
				wait = 2 * time.Second
			}
			got := decodeEvents(t, testenv.Receive(t, cfg, queue, len(tt.want)+1, wait))
			// StartedAt is the store's clock (MarkScanRunning): there, not compared.
			for _, a := range got {
				if a.Detail.StartedAt.IsZero() {
					t.Errorf("event of scan %s without started_at", a.Detail.ScanID)
				}
			}
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(scanend.ScanEndedDetail{}, "StartedAt")); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
		})
	}
}
