package recheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/recheck"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

const target = "111122223333" // the account the events come from

// fixture is the buffer over moto: a table with an integration of the
// target account, a bucket, a scan state machine, and a bus whose rule
// delivers the forwarded events to a queue, as the stack's rule does.
type fixture struct {
	h        *recheck.Handler
	store    *ddb.Store
	s3       *s3.Client
	bucket   string
	sfn      *sfn.Client
	eb       *eventbridge.Client
	sqs      *sqs.Client
	bus, url string
	now      time.Time
	ids      int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{now: t0}
	cfg, accountID, _ := testenv.Account(t, testenv.Config(t))
	f.store = testenv.Store(t)
	f.s3, f.bucket = testenv.Bucket(t, cfg)
	f.sfn = sfn.NewFromConfig(cfg)
	sm, err := f.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-scan")),
		Definition: aws.String(`{"StartAt":"plan","States":{"plan":{"Type":"Wait","Seconds":3600,"End":true}}}`),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/citadel-states", accountID)),
	})
	if err != nil {
		t.Fatal(err)
	}
	pattern, _ := json.Marshal(map[string]any{"source": citadel.ChangeEventSources(), "detail-type": []string{citadel.CloudTrailDetailType}})
	f.bus, f.url = testenv.EventBus(t, cfg, string(pattern))
	f.eb, f.sqs = eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	clock := func() time.Time { return f.now }
	locks := &scanend.Locks{Store: f.store, Executions: f.sfn, StateMachineARN: aws.ToString(sm.StateMachineArn), Clock: clock}
	f.h = &recheck.Handler{Env: stepfn.Env{Clock: clock}, Store: f.store, Locks: locks, S3: f.s3, Bucket: f.bucket,
		Executions: f.sfn, StateMachineARN: aws.ToString(sm.StateMachineArn),
		NewID: func(prefix string, _ time.Time) string { f.ids++; return fmt.Sprintf("%s-%03d", prefix, f.ids) }}
	for _, id := range []string{"int-prod", "int-audit"} { // the account in two folders
		in := citadel.Integration{ID: id, FolderID: "f-" + id, Name: id, AccountID: target,
			RoleARN: "arn:aws:iam::" + target + ":role/CitadelScanner", ExternalID: "ext", Regions: []string{"eu-west-1"},
			CreatedAt: t0, UpdatedAt: t0}
		if err := f.store.CreateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// cloudTrail is a management write event as a target account's rule
// forwards it.
func cloudTrail(account, source, name string, at time.Time, req map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"eventSource": strings.TrimPrefix(source, "aws.") + ".amazonaws.com", "eventName": name, "eventTime": at,
		"awsRegion": "eu-west-1", "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
		"recipientAccountId": account, "requestParameters": req,
	})
	return string(b)
}

// put puts events on the bus, ten at a time (PutEvents' limit), and
// receives what the rule delivered to the queue: moto's EventBridge runs
// the rule; no Lambda polls the queue here (the stack's event source
// mapping), so the test hands the messages to the handler as that poller
// would, in one batch.
func (f *fixture) put(t *testing.T, entries []ebtypes.PutEventsRequestEntry) events.SQSEvent {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < len(entries); i += 10 {
		batch := entries[i:min(i+10, len(entries))]
		for j := range batch {
			batch[j].EventBusName = aws.String(f.bus)
		}
		out, err := f.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil || out.FailedEntryCount > 0 {
			t.Fatalf("put events: %v (%d failed)", err, aws.ToInt32(&out.FailedEntryCount))
		}
	}
	var batch events.SQSEvent
	for deadline := time.Now().Add(30 * time.Second); len(batch.Records) < len(entries) && time.Now().Before(deadline); {
		got, err := f.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Messages {
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body)})
		}
	}
	if len(batch.Records) != len(entries) {
		t.Fatalf("the queue got %d of %d events", len(batch.Records), len(entries))
	}
	return batch
}

// direct is the batch the queue would deliver for entries, made here
// (receiving 500 messages from moto's queue takes a minute).
func direct(entries []ebtypes.PutEventsRequestEntry) events.SQSEvent {
	var batch events.SQSEvent
	for i, e := range entries {
		var detail map[string]any
		_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &detail)
		b, _ := json.Marshal(map[string]any{"version": "0", "id": fmt.Sprintf("ev-%d", i), "detail-type": e.DetailType,
			"source": e.Source, "account": detail["recipientAccountId"], "time": e.Time, "region": "eu-west-1", "detail": detail})
		batch.Records = append(batch.Records, events.SQSMessage{MessageId: fmt.Sprintf("m-%d", i), Body: string(b)})
	}
	return batch
}

func entry(account, source, name string, at time.Time, req map[string]any) ebtypes.PutEventsRequestEntry {
	return ebtypes.PutEventsRequestEntry{Source: aws.String(source), DetailType: aws.String(citadel.CloudTrailDetailType),
		Detail: aws.String(cloudTrail(account, source, name, at, req)), Time: aws.Time(at)}
}

func bucketEvents(n int, at time.Time, buckets ...string) []ebtypes.PutEventsRequestEntry {
	var out []ebtypes.PutEventsRequestEntry
	for i := range n {
		out = append(out, entry(target, "aws.s3", "PutBucketPolicy", at.Add(time.Duration(i)*time.Millisecond),
			map[string]any{"bucketName": buckets[i%len(buckets)]}))
	}
	return out
}

func (f *fixture) recheckFile(t *testing.T, key string) citadel.RecheckFile {
	t.Helper()
	out, err := f.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	file, err := citadel.ParseRecheckFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// A burst of 1,000 events on two buckets, with noise around it, becomes
// one re-check per integration of the account, each of the two buckets.
func TestBurstBecomesOneRecheckPerIntegration(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	entries := bucketEvents(1000, t0, "citadel-demo-logs", "citadel-demo-data")
	// The first 20 and the noise go through moto's bus and queue as
	// EventBridge delivers them; the rest are made as the queue would
	// deliver them (moto's bus and queue take minutes for a thousand).
	batch := f.put(t, append(entries[:20:20],
		entry("999988887777", "aws.s3", "PutBucketPolicy", t0, map[string]any{"bucketName": "not-ours"}), // no integration
		entry(target, "aws.ec2", "CreateTags", t0, map[string]any{"resourcesSet": map[string]any{}}),     // names nothing
	))
	batch.Records = append(batch.Records, direct(entries[20:]).Records...)
	batch.Records = append(batch.Records, events.SQSMessage{MessageId: "m-bad", Body: `{"detail-type":"Object Created"}`})
	f.now = t0.Add(2 * time.Minute)
	out := f.h.Run(ctx, batch)
	want := recheck.Outcome{Events: 1003, Malformed: 1, Ignored: 2, Rechecks: 2, ScanIDs: []string{"scan-001", "scan-002"}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Fatalf("outcome (-want +got):\n%s", diff)
	}
	for _, id := range []string{"int-audit", "int-prod"} {
		sc, err := f.store.RunningScan(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Trigger != citadel.TriggerChange || sc.Recheck == nil || sc.Recheck.Resources != 2 || sc.Recheck.Events != 1000 {
			t.Fatalf("%s's scan: %+v, want a re-check of 2 resources from 1000 events", id, sc)
		}
		file := f.recheckFile(t, sc.Recheck.Key)
		wantFile := citadel.RecheckFile{IntegrationID: id, ARNs: []string{"arn:aws:s3:::citadel-demo-data", "arn:aws:s3:::citadel-demo-logs"},
			Services: []string{"s3"}, Events: 1000, FirstEventAt: t0, LastEventAt: t0.Add(999 * time.Millisecond)}
		if diff := cmp.Diff(wantFile, file); diff != "" {
			t.Errorf("%s's re-check file (-want +got):\n%s", id, diff)
		}
		ex, err := f.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(
			strings.Replace(f.h.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + sc.ID)})
		if err != nil {
			t.Fatalf("%s's execution: %v", id, err)
		}
		var in citadel.PlanInput
		if err := json.Unmarshal([]byte(aws.ToString(ex.Input)), &in); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(citadel.StartScan{ScanID: sc.ID, IntegrationID: id, Trigger: citadel.TriggerChange, Recheck: sc.Recheck}, in.Scan); diff != "" {
			t.Errorf("%s's execution input (-want +got):\n%s", id, diff)
		}
	}

	// More events while the re-checks run wait for them: they go back to
	// the queue, to be coalesced with what comes next.
	more := f.put(t, bucketEvents(5, t0.Add(3*time.Minute), "citadel-demo-logs"))
	f.now = t0.Add(4 * time.Minute)
	out = f.h.Run(ctx, more)
	if out.Waiting != 2 || out.Rechecks != 0 || len(out.Failures) != 5 {
		t.Fatalf("events during a re-check: %+v, want 2 integrations waiting and all 5 returned", out)
	}
	resp, err := f.h.Handle(ctx, more)
	if err != nil || len(resp.BatchItemFailures) != 5 {
		t.Fatalf("Handle: %v, %d batch item failures; want 5", err, len(resp.BatchItemFailures))
	}
}

// A running full scan created after the last event covers it (folded);
// one created before the change does not (the events wait for it).
func TestFullScanFoldsOrHoldsTheEvents(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		scanAt   time.Time
		want     recheck.Outcome
		returned int
	}{
		{"created after the change", t0.Add(time.Minute), recheck.Outcome{Events: 3, Folded: 2}, 0},
		{"created before the change", t0.Add(-time.Minute), recheck.Outcome{Events: 3, Waiting: 2}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for _, id := range []string{"int-audit", "int-prod"} {
				sc := citadel.Scan{ID: "scan-full-" + id, IntegrationID: id, FolderID: "f-" + id, Trigger: citadel.TriggerSchedule,
					Status: citadel.ScanQueued, CreatedAt: tc.scanAt}
				if err := f.store.StartScan(ctx, sc); err != nil {
					t.Fatal(err)
				}
			}
			batch := f.put(t, bucketEvents(3, t0, "citadel-demo-logs"))
			f.now = t0.Add(2 * time.Minute)
			out := f.h.Run(ctx, batch)
			if len(out.Failures) != tc.returned {
				t.Errorf("%d messages returned, want %d", len(out.Failures), tc.returned)
			}
			out.Failures = nil
			if diff := cmp.Diff(tc.want, out); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

// More changed resources than a re-check covers make a full scan.
func TestTooManyResourcesMakeAFullScan(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var names []string
	for i := range citadel.MaxRecheckResources + 1 {
		names = append(names, fmt.Sprintf("bucket-%04d", i))
	}
	batch := direct(bucketEvents(len(names), t0, names...))
	out := f.h.Run(ctx, batch)
	if out.FullScans != 2 || out.Rechecks != 0 || len(out.Failures) != 0 {
		t.Fatalf("outcome %+v, want 2 full scans", out)
	}
	sc, err := f.store.RunningScan(ctx, "int-prod")
	if err != nil || sc.Trigger != citadel.TriggerChange || sc.Recheck != nil {
		t.Fatalf("the scan: %+v, %v; want a full scan of trigger change", sc, err)
	}
}

// An execution that cannot start ends its scan failed and releases the
// lock; the events go back to the queue.
func TestExecutionThatCannotStart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.h.StateMachineARN += "-gone"
	batch := f.put(t, bucketEvents(2, t0, "citadel-demo-logs"))
	out := f.h.Run(ctx, batch)
	if out.Rechecks != 0 || len(out.Failures) != 2 {
		t.Fatalf("outcome %+v, want nothing started and both events returned", out)
	}
	if _, err := f.h.Handle(ctx, batch); !citadel.IsRetryable(err) {
		t.Errorf("Handle: %v, want the retryable error (nothing got through)", err)
	}
	if sc, err := f.store.RunningScan(ctx, "int-prod"); !citadel.IsNotFound(err) {
		t.Fatalf("the lock is still held by %+v (%v)", sc, err)
	}
	sc, err := f.store.GetScan(ctx, "scan-001")
	if err != nil || sc.Status != citadel.ScanFailed || sc.FailureCause == "" {
		t.Fatalf("scan-001: %+v, %v; want failed with its cause", sc, err)
	}
}
