package scanend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestEndedEvent(t *testing.T) {
	fin := t0.Add(time.Hour)
	tests := []struct {
		name       string
		sc         citadel.Scan
		bus        string
		wantType   string
		wantBus    *string
		wantDetail scanend.ScanEndedDetail
	}{
		{"succeeded, with its summary", citadel.Scan{ID: "s1", IntegrationID: "i1", FolderID: "f1", Trigger: citadel.TriggerAPI,
			Status: citadel.ScanSucceeded, StartedAt: t0, FinishedAt: fin, ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:scan:s1",
			Summary: &citadel.ScanSummary{Success: true, Message: "Scan complete: 2 issues found", ChecksExecuted: 4, ChecksPassed: 6, ChecksFailed: 2, DurationSeconds: 3600}},
			"DriftEvents", citadel.EventScanSucceeded, aws.String("DriftEvents"),
			scanend.ScanEndedDetail{ID: "s1", ScanID: "s1", IntegrationID: "i1", FolderID: "f1", Trigger: citadel.TriggerAPI, Status: citadel.ScanSucceeded,
				StartedAt: t0, FinishedAt: fin, Message: "Scan complete: 2 issues found", DurationSeconds: 3600, ChecksExecuted: 4, ChecksPassed: 6, ChecksFailed: 2}},
		{"failed", citadel.Scan{ID: "s2", IntegrationID: "i1", Status: citadel.ScanFailed, FailureCause: "the plan step failed", FinishedAt: fin},
			"", citadel.EventScanFailed, nil,
			scanend.ScanEndedDetail{ID: "s2", ScanID: "s2", IntegrationID: "i1", Status: citadel.ScanFailed, FailureCause: "the plan step failed", FinishedAt: fin}},
		{"timed out", citadel.Scan{ID: "s3", IntegrationID: "i1", Status: citadel.ScanTimedOut, FailureCause: "the scan hit the 6-hour execution timeout", FinishedAt: fin},
			"b", citadel.EventScanFailed, aws.String("b"),
			scanend.ScanEndedDetail{ID: "s3", ScanID: "s3", IntegrationID: "i1", Status: citadel.ScanTimedOut, FailureCause: "the scan hit the 6-hour execution timeout", FinishedAt: fin}},
		{"cancelled", citadel.Scan{ID: "s4", IntegrationID: "i1", Status: citadel.ScanCancelled, FailureCause: "the scan was cancelled by alice", CancelledBy: "alice", FinishedAt: fin},
			"b", citadel.EventScanFailed, aws.String("b"),
			scanend.ScanEndedDetail{ID: "s4", ScanID: "s4", IntegrationID: "i1", Status: citadel.ScanCancelled, FailureCause: "the scan was cancelled by alice", CancelledBy: "alice", FinishedAt: fin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := scanend.EndedEvent(tt.sc, tt.bus)
			if aws.ToString(e.Source) != citadel.EventSource || aws.ToString(e.DetailType) != tt.wantType {
				t.Errorf("source %q, detail type %q; want %q, %q", aws.ToString(e.Source), aws.ToString(e.DetailType), citadel.EventSource, tt.wantType)
			}
			if d := cmp.Diff(tt.wantBus, e.EventBusName); d != "" {
				t.Errorf("bus (-want +got):\n%s", d)
			}
			var got scanend.ScanEndedDetail
			if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantDetail, got); d != "" {
				t.Errorf("detail (-want +got):\n%s", d)
			}
			if !aws.ToTime(e.Time).Equal(fin) {
				t.Errorf("time %v, want the finish %v", aws.ToTime(e.Time), fin)
			}
		})
	}
}

// The ends the locks make (a cancel, a take-over, a heal) are announced on
// moto's EventBridge, once each; an Announcer whose bus is missing logs the
// loss and the end stands.
func TestLocksAnnounceTheirEnds(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	bus, queue := testenv.EventBus(t, cfg, `{"source":["`+citadel.EventSource+`"]}`)
	received := func(t *testing.T, want int) []events.CloudWatchEvent {
		t.Helper()
		var out []events.CloudWatchEvent
		for _, b := range testenv.Receive(t, cfg, queue, want+1, time.Duration(want+2)*time.Second) {
			var ev events.CloudWatchEvent
			if err := json.Unmarshal([]byte(b), &ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
		return out
	}
	type end struct {
		DetailType string
		ScanID     string
		Status     citadel.ScanStatus
	}
	ends := func(evs []events.CloudWatchEvent) []end {
		var out []end
		for _, ev := range evs {
			var d scanend.ScanEndedDetail
			_ = json.Unmarshal(ev.Detail, &d)
			out = append(out, end{ev.DetailType, d.ScanID, d.Status})
		}
		return out
	}
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
		want []end
	}{
		{"cancel, twice", func(t *testing.T, f *fixture) {
			f.started(t, scan("scan-1"), true)
			for range 2 {
				if _, err := f.locks.Cancel(ctx, "scan-1", "alice"); err != nil {
					t.Fatal(err)
				}
			}
		}, []end{{citadel.EventScanFailed, "scan-1", citadel.ScanCancelled}}},
		{"take-over of a stopped holder", func(t *testing.T, f *fixture) {
			arn := f.started(t, scan("scan-1"), true)
			if _, err := f.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
			if err := f.locks.Start(ctx, scan("scan-2")); err != nil {
				t.Fatal(err)
			}
		}, []end{{citadel.EventScanFailed, "scan-1", citadel.ScanCancelled}}},
		{"heal, twice", func(t *testing.T, f *fixture) {
			if err := f.locks.Start(ctx, scan("scan-1")); err != nil {
				t.Fatal(err)
			}
			f.now = t0.Add(time.Hour)
			for range 2 {
				if _, err := f.locks.Heal(ctx, "int-1"); err != nil {
					t.Fatal(err)
				}
			}
		}, []end{{citadel.EventScanFailed, "scan-1", citadel.ScanFailed}}},
		{"a holder that runs: nothing ended", func(t *testing.T, f *fixture) {
			f.started(t, scan("scan-1"), true)
			if err := f.locks.Start(ctx, scan("scan-2")); !citadel.IsConflict(err) {
				t.Fatalf("start: %v, want a conflict", err)
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.locks.Announce = &scanend.Announcer{Events: eventbridge.NewFromConfig(cfg), Bus: bus}
			tt.run(t, f)
			if d := cmp.Diff(tt.want, ends(received(t, len(tt.want)))); d != "" {
				t.Errorf("announced (-want +got):\n%s", d)
			}
		})
	}

	t.Run("no such bus: logged, the cancel stands", func(t *testing.T) {
		f := newFixture(t)
		var logs bytes.Buffer
		f.locks.Announce = &scanend.Announcer{Events: eventbridge.NewFromConfig(cfg), Bus: "no-such-bus",
			Log: slog.New(slog.NewJSONHandler(&logs, nil))}
		f.started(t, scan("scan-1"), true)
		sc, err := f.locks.Cancel(ctx, "scan-1", "")
		if err != nil || sc.Status != citadel.ScanCancelled {
			t.Fatalf("cancel: %+v, %v", sc, err)
		}
		if !strings.Contains(logs.String(), `"msg":"scan end not announced"`) || !strings.Contains(logs.String(), `"scan_id":"scan-1"`) {
			t.Errorf("logs = %s", logs.String())
		}
	})
}
