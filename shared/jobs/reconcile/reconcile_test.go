package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/reconcile"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// fixture: a table, a state machine, and EventBridge's default bus with the
// reconciler's rule (the pattern the CDK app deploys) targeting a queue, all
// in a fresh account of moto. Step Functions events are put on the bus as
// Step Functions would send them (moto's engine does not emit them: the
// gap), routed by the rule to the queue, and received from it.
type fixture struct {
	store *ddb.Store
	sfn   *sfn.Client
	eb    *eventbridge.Client
	sqs   *sqs.Client
	queue string
	smARN string
	h     *reconcile.Handler
	logs  *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	acct, accountID, _ := testenv.Account(t, testenv.Config(t))
	f := &fixture{store: testenv.Store(t), sfn: sfn.NewFromConfig(acct), eb: eventbridge.NewFromConfig(acct), sqs: sqs.NewFromConfig(acct), logs: &bytes.Buffer{}}
	sm, err := f.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-scan")),
		Definition: aws.String(`{"StartAt":"plan","States":{"plan":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/citadel-states", accountID)),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.smARN = aws.ToString(sm.StateMachineArn)
	q, err := f.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Name(t, "reconcile"))})
	if err != nil {
		t.Fatal(err)
	}
	f.queue = aws.ToString(q.QueueUrl)
	qa, err := f.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	rule := testenv.Name(t, "reconcile")
	if _, err := f.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventPattern: aws.String(scanend.EventPatternJSON(f.smARN))}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule),
		Targets: []ebtypes.Target{{Id: aws.String("reconcile"), Arn: aws.String(qa.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	f.h = &reconcile.Handler{Store: f.store, StateMachineARN: f.smARN, Env: stepfn.Env{Clock: func() time.Time { return t0.Add(7 * time.Hour) }, Log: slog.New(slog.NewJSONHandler(f.logs, nil))}}
	return f
}

// run records a running scan and starts its execution; it returns the
// execution's ARN.
func (f *fixture) run(t *testing.T, id string) string {
	t.Helper()
	ctx := context.Background()
	sc := citadel.Scan{ID: id, IntegrationID: "int-1", FolderID: "f1", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
	if err := f.store.StartScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	out, err := f.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(f.smARN), Name: aws.String(id), Input: aws.String(input(id))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.MarkScanRunning(ctx, sc.IntegrationID, id, aws.ToString(out.ExecutionArn)); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ExecutionArn)
}

func input(scanID string) string {
	b, _ := json.Marshal(citadel.PlanInput{Scan: citadel.StartScan{ScanID: scanID, IntegrationID: "int-1", Trigger: citadel.TriggerAPI}})
	return string(b)
}

// detail is a Step Functions execution status change as Step Functions
// sends it (the documented shape; dates in epoch milliseconds).
func detail(smARN, execARN, name, status, in string, errCause ...string) string {
	stop := t0.Add(6 * time.Hour).UnixMilli()
	d := map[string]any{"executionArn": execARN, "stateMachineArn": smARN, "name": name, "status": status,
		"startDate": t0.UnixMilli(), "stopDate": stop, "input": in, "output": nil, "inputDetails": map[string]any{"included": true}}
	if len(errCause) == 2 {
		d["error"], d["cause"] = errCause[0], errCause[1]
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// route puts events on the bus and returns those the rule delivered to the
// queue, decoded as the reconciler's Lambda receives them.
func (f *fixture) route(t *testing.T, details ...string) []events.CloudWatchEvent {
	t.Helper()
	ctx := context.Background()
	var entries []ebtypes.PutEventsRequestEntry
	for _, d := range details {
		entries = append(entries, ebtypes.PutEventsRequestEntry{Source: aws.String(scanend.EventSource),
			DetailType: aws.String(scanend.EventDetailType), Detail: aws.String(d), Resources: []string{}})
	}
	out, err := f.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put events: %v (%d failed)", err, aws.ToInt32(&out.FailedEntryCount))
	}
	var got []events.CloudWatchEvent
	for range 3 {
		msgs, err := f.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs.Messages {
			var ev events.CloudWatchEvent
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatalf("queued event: %v: %s", err, aws.ToString(m.Body))
			}
			got = append(got, ev)
			_, _ = f.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(f.queue), ReceiptHandle: m.ReceiptHandle})
		}
		if len(got) >= len(details) {
			break
		}
	}
	return got
}

func TestReconcileEndedExecutions(t *testing.T) {
	finalizeFailed := `{"errorMessage":"finalize scan s1: dynamodb finish scan: operation error DynamoDB: TransactWriteItems, https response error StatusCode: 400, RequestID: X1","errorType":"wrapError"}`
	ok := func(step string) citadel.StepProgress {
		return citadel.StepProgress{Step: step, Status: citadel.StepSucceeded, StartedAt: t0, FinishedAt: t0.Add(time.Minute)}
	}
	tests := []struct {
		name, status string
		errCause     []string
		steps        []citadel.StepProgress // recorded by the step contract
		want         citadel.ScanStatus
		cause        string
	}{
		{"failed in finalize", "FAILED", []string{"wrapError", finalizeFailed},
			[]citadel.StepProgress{ok(citadel.StepPlan), {Step: citadel.StepFinalize, Status: citadel.StepFailed, StartedAt: t0, FinishedAt: t0, Error: "wrapError"}},
			citadel.ScanFailed, "the finalize step failed: finalize scan s1: dynamodb finish scan: the DynamoDB TransactWriteItems call failed"},
		{"failed, no steps recorded", "FAILED", []string{"wrapError", finalizeFailed}, nil, citadel.ScanFailed,
			"the scan's execution failed: finalize scan s1: dynamodb finish scan: the DynamoDB TransactWriteItems call failed"},
		{"timed out", "TIMED_OUT", nil,
			[]citadel.StepProgress{ok(citadel.StepPlan), ok(citadel.StepAssetSync), {Step: citadel.StepCheckResults, Status: citadel.StepRetrying, StartedAt: t0}},
			citadel.ScanTimedOut, "the scan hit the 6-hour execution timeout in step check-results"},
		{"timed out, nothing recorded", "TIMED_OUT", nil, nil, citadel.ScanTimedOut, "the scan hit the 6-hour execution timeout"},
		{"aborted", "ABORTED", nil, []citadel.StepProgress{ok(citadel.StepPlan), ok(citadel.StepAssetSync)},
			citadel.ScanCancelled, "the scan's execution was stopped during step prowler outside Citadel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			id := "s-" + strings.NewReplacer(" ", "-", ",", "").Replace(tt.name)
			arn := f.run(t, id)
			for _, st := range tt.steps {
				if err := f.store.StepStarted(ctx, id, st.Step, st.StartedAt); err != nil {
					t.Fatal(err)
				}
				if st.Status != citadel.StepRunning && st.Status != citadel.StepRetrying {
					if err := f.store.StepFinished(ctx, id, st); err != nil {
						t.Fatal(err)
					}
				}
			}
			before, _ := f.store.GetScan(ctx, id)
			evs := f.route(t, detail(f.smARN, arn, id, tt.status, input(id), tt.errCause...))
			if len(evs) != 1 {
				t.Fatalf("the rule delivered %d events, want 1", len(evs))
			}
			out, err := f.h.Handle(ctx, evs[0])
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(reconcile.Outcome{ScanID: id, Status: tt.want, Changed: true}, out); d != "" {
				t.Errorf("outcome (-want +got):\n%s", d)
			}
			want := before
			want.Status, want.FailureCause, want.FinishedAt = tt.want, tt.cause, t0.Add(6*time.Hour)
			got, _ := f.store.GetScan(ctx, id)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("scan (-want +got):\n%s", d)
			}
			if _, err := f.store.RunningScan(ctx, "int-1"); !citadel.IsNotFound(err) {
				t.Errorf("lock: %v, want released", err)
			}
			// The same event again changes nothing.
			again, err := f.h.Handle(ctx, evs[0])
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(reconcile.Outcome{ScanID: id, Status: tt.want}, again); d != "" {
				t.Errorf("second delivery (-want +got):\n%s", d)
			}
			if got2, _ := f.store.GetScan(ctx, id); !cmp.Equal(got, got2) {
				t.Errorf("second delivery changed the scan: %s", cmp.Diff(got, got2))
			}
			if !strings.Contains(f.logs.String(), `"execution_cause"`) {
				t.Errorf("the raw cause is not logged: %s", f.logs.String())
			}
		})
	}
}

// After finalize recorded the outcome (the execution then fails in its Fail
// state, and the rule fires), the scan stays as finalize left it.
func TestReconcileAfterFinalize(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	arn := f.run(t, "s-1")
	sc, _ := f.store.GetScan(ctx, "s-1")
	sc.Status, sc.FailureCause, sc.FinishedAt = citadel.ScanFailed, "the prowler step failed: the Prowler task exited 1", t0.Add(time.Hour)
	if _, err := f.store.FinishScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	evs := f.route(t, detail(f.smARN, arn, "s-1", "FAILED", input("s-1"), "States.TaskFailed", `{"StoppedReason":"Essential container in task exited"}`))
	if len(evs) != 1 {
		t.Fatalf("the rule delivered %d events, want 1", len(evs))
	}
	out, err := f.h.Handle(ctx, evs[0])
	if err != nil || out != (reconcile.Outcome{ScanID: "s-1", Status: citadel.ScanFailed}) {
		t.Errorf("outcome = %+v, %v", out, err)
	}
	got, _ := f.store.GetScan(ctx, "s-1")
	if d := cmp.Diff(sc, got); d != "" {
		t.Errorf("scan changed (-want +got):\n%s", d)
	}
}

// The rule delivers only ended executions of this state machine; the
// reconciler ignores, with a log line, events that are not about a scan of
// ours, and refuses a malformed one.
func TestReconcileRoutingAndIgnored(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	arn := f.run(t, "s-1")
	other := strings.Replace(f.smARN, ":stateMachine:", ":stateMachine:other-", 1)
	evs := f.route(t,
		detail(f.smARN, arn, "s-1", "SUCCEEDED", input("s-1")),
		detail(f.smARN, arn, "s-1", "RUNNING", input("s-1")),
		detail(other, arn, "s-1", "FAILED", input("s-1")),
		detail(f.smARN, arn+"x", "not-a-scan", "ABORTED", `{"hello":"world"}`),
		detail(f.smARN, arn+"y", "s-gone", "FAILED", input("s-gone")),
	)
	if len(evs) != 2 {
		t.Fatalf("the rule delivered %d events, want the 2 ended executions of this state machine", len(evs))
	}
	var ignored []string
	for _, ev := range evs {
		out, err := f.h.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		ignored = append(ignored, out.Ignored)
	}
	if d := cmp.Diff([]string{"the execution input names no scan", "no scan record s-gone of integration int-1"}, ignored,
		cmpSorted); d != "" {
		t.Errorf("ignored (-want +got):\n%s", d)
	}
	// Fed directly (a rule misconfigured), the others are ignored too.
	for _, tt := range []struct{ source, detail, why string }{
		{"aws.ec2", detail(f.smARN, arn, "s-1", "FAILED", input("s-1")), `not a Step Functions execution status change (source "aws.ec2"`},
		{scanend.EventSource, detail(other, arn, "s-1", "FAILED", input("s-1")), "an execution of another state machine"},
		{scanend.EventSource, detail(f.smARN, arn, "s-1", "SUCCEEDED", input("s-1")), "the execution is SUCCEEDED"},
	} {
		out, err := f.h.Handle(ctx, events.CloudWatchEvent{Source: tt.source, DetailType: scanend.EventDetailType, Detail: json.RawMessage(tt.detail)})
		if err != nil || !strings.HasPrefix(out.Ignored, tt.why) {
			t.Errorf("%s: got %+v, %v; want ignored: %s", tt.why, out, err, tt.why)
		}
	}
	if sc, _ := f.store.GetScan(ctx, "s-1"); sc.Status != citadel.ScanRunning {
		t.Errorf("an ignored event changed the scan: %+v", sc)
	}
	for _, bad := range []string{`"not an object"`, `{"status":"FAILED"}`} {
		_, err := f.h.Handle(ctx, events.CloudWatchEvent{Source: scanend.EventSource, DetailType: scanend.EventDetailType, Detail: json.RawMessage(bad)})
		if !citadel.IsInvalid(err) {
			t.Errorf("detail %s: got %v, want invalid", bad, err)
		}
	}
	if !strings.Contains(f.logs.String(), `"msg":"event ignored"`) {
		t.Error("ignored events are not logged")
	}
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// A scheduled run refused by a lock whose holder's execution was stopped
// fails before its scan is recorded: its FAILED event heals the lock.
func TestReconcileHealsTheLockThatRefusedAScheduledRun(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.h.Locks = &scanend.Locks{Store: f.store, Executions: f.sfn, StateMachineARN: f.smARN}
	held := f.run(t, "s-1")
	sched := "sched-0001"
	refusedARN := strings.Replace(held, ":s-1", ":run-0001", 1)
	refused := detail(f.smARN, refusedARN, "run-0001", "FAILED", strings.Replace(input(sched), `"api"`, `"schedule"`, 1),
		"Error", `{"errorMessage":"plan scan sched-0001: integration int-1 already has scan s-1 running","errorType":"Error"}`)

	// While the holder runs, nothing is healed.
	evs := f.route(t, refused)
	if len(evs) != 1 {
		t.Fatalf("the rule delivered %d events, want 1", len(evs))
	}
	out, err := f.h.Handle(ctx, evs[0])
	if err != nil || out.Healed != "" {
		t.Fatalf("holder running: %+v, %v; want nothing healed", out, err)
	}
	if sc, _ := f.store.RunningScan(ctx, "int-1"); sc.ID != "s-1" {
		t.Errorf("holder = %q, want s-1", sc.ID)
	}
	// Stopped (its own event lost): the next refused run heals it.
	if _, err := f.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(held)}); err != nil {
		t.Fatal(err)
	}
	out, err = f.h.Handle(ctx, evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(reconcile.Outcome{Ignored: "no scan record sched-0001 of integration int-1", Healed: "s-1"}, out); d != "" {
		t.Errorf("outcome (-want +got):\n%s", d)
	}
	if _, err := f.store.RunningScan(ctx, "int-1"); !citadel.IsNotFound(err) {
		t.Errorf("lock: %v, want released", err)
	}
	if sc, _ := f.store.GetScan(ctx, "s-1"); sc.Status != citadel.ScanCancelled || sc.FailureCause != "the scan's execution was stopped outside Citadel" {
		t.Errorf("healed scan: %s %q", sc.Status, sc.FailureCause)
	}
}

// The scan the reconciler ends is announced on the drift bus ("Scan
// Failed", with its status), once: the same event again changes nothing
// and announces nothing.
func TestReconcileAnnouncesTheEnd(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	f := newFixture(t)
	bus, queue := testenv.EventBus(t, cfg, `{"source":["`+citadel.EventSource+`"]}`)
	f.h.Announce = &scanend.Announcer{Events: eventbridge.NewFromConfig(cfg), Bus: bus}
	arn := f.run(t, "s1")
	ev := events.CloudWatchEvent{ID: "e1", Source: scanend.EventSource, DetailType: scanend.EventDetailType,
		Detail: json.RawMessage(detail(f.smARN, arn, "s1", "TIMED_OUT", input("s1")))}
	for range 2 {
		if _, err := f.h.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	type end struct {
		DetailType, ScanID string
		Status             citadel.ScanStatus
	}
	var got []end
	for _, b := range testenv.Receive(t, cfg, queue, 2, 3*time.Second) {
		var e events.CloudWatchEvent
		var d scanend.ScanEndedDetail
		if json.Unmarshal([]byte(b), &e) != nil || json.Unmarshal(e.Detail, &d) != nil {
			t.Fatalf("delivered %s", b)
		}
		got = append(got, end{e.DetailType, d.ScanID, d.Status})
	}
	if d := cmp.Diff([]end{{citadel.EventScanFailed, "s1", citadel.ScanTimedOut}}, got); d != "" {
		t.Errorf("announced (-want +got):\n%s", d)
	}
}

// An organization scan's execution that ended where no Catch saw it (its
// input names the organization scan as an account scan's does) ends the
// organization scan and releases the organization's lock, once the
// reconciler knows the organization state machine; without it the event
// is another state machine's.
func TestReconcileAnOrganizationScan(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	orgSM := strings.Replace(f.smARN, ":stateMachine:", ":stateMachine:org-", 1)
	sc := citadel.Scan{ID: "s-org", IntegrationID: "int-1", FolderID: "f1", Trigger: citadel.TriggerAPI, Kind: citadel.KindOrganization,
		Status: citadel.ScanQueued, CreatedAt: t0}
	if err := f.store.StartScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	arn := strings.Replace(orgSM, ":stateMachine:", ":execution:", 1) + ":s-org"
	if _, err := f.store.MarkScanRunning(ctx, sc.IntegrationID, sc.ID, arn); err != nil {
		t.Fatal(err)
	}
	ev := events.CloudWatchEvent{Source: scanend.EventSource, DetailType: scanend.EventDetailType,
		Detail: json.RawMessage(detail(orgSM, arn, "s-org", "TIMED_OUT", input("s-org")))}
	tests := []struct {
		name  string
		orgSM string
		want  reconcile.Outcome
	}{
		{"unknown state machine", "", reconcile.Outcome{Ignored: "an execution of another state machine"}},
		{"the organization state machine", orgSM, reconcile.Outcome{ScanID: "s-org", Status: citadel.ScanTimedOut, Changed: true}},
		{"again", orgSM, reconcile.Outcome{ScanID: "s-org", Status: citadel.ScanTimedOut}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.h.OrgStateMachineARN = tt.orgSM
			got, err := f.h.Handle(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("outcome (-want +got):\n%s", d)
			}
		})
	}
	if _, err := f.store.RunningScan(ctx, "int-1"); !citadel.IsNotFound(err) {
		t.Errorf("the organization's lock: %v, want released", err)
	}
}
