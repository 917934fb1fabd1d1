package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/busevents"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/jobs/recheck"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestRecheckOfAChange measures the re-check of what changed end to end
// on moto, beside a full scan of the same account: the demo estate is
// scanned in full; then a bucket's public access block is removed, the
// CloudTrail event AWS would deliver for it is put on a bus whose rule
// feeds a queue (moto emits no CloudTrail events), the queue's messages go
// to the re-check buffer (shared/jobs/recheck) — handed over by the test,
// as Lambda's SQS poller would (moto's queue has no poller here) — and the
// buffer's execution runs the same steps through the local runner; the
// clock stops when "Check Regressed" for that bucket arrives from the
// drift bus. docs/benchmarks.md records the figures.
func TestRecheckOfAChange(t *testing.T) {
	e := newDemoEnv(t)
	ctx := e.ctx
	drift, driftQueue := testenv.EventBus(t, e.cfg, fmt.Sprintf(`{"detail-type":[%q]}`, citadel.EventCheckRegressed))
	e.runner.eventBus = drift

	start := time.Now()
	full := e.scan(t)
	fullSeconds := time.Since(start).Seconds()
	fullCPU := (e.runner.lastRun.UserCPU + e.runner.lastRun.SystemCPU).Seconds()
	fullChecks := 0
	for _, m := range e.runner.runs {
		fullChecks += len(m.ChecksExecuted)
	}
	before := e.results(t)

	pattern, _ := json.Marshal(map[string]any{"source": citadel.ChangeEventSources(), "detail-type": []string{citadel.CloudTrailDetailType}})
	changes, changeQueue := testenv.EventBus(t, e.cfg, string(pattern))
	prog := &progress{w: io.Discard}
	execs := &localrun.Executions{StateMachineARN: "arn:aws:states:us-east-1:" + e.integ.AccountID + ":stateMachine:citadel-local",
		Pipeline: func() *localrun.Runner { p := e.runner.pipeline(); p.OnEvent = prog.event; return p }}
	locks := &scanend.Locks{Store: e.store, Executions: execs, StateMachineARN: execs.StateMachineARN}
	buffer := &recheck.Handler{Env: stepfn.Env{Log: e.runner.log}.Defaults(), Store: e.store, Locks: locks,
		S3: s3.NewFromConfig(e.cfg), Bucket: e.runner.bucket, Executions: execs, StateMachineARN: execs.StateMachineARN}

	// The change, and its CloudTrail event.
	bucketARN := e.estate.Resources["bucket-logs"]
	bucket := strings.TrimPrefix(bucketARN, "arn:aws:s3:::")
	changedAt := time.Now()
	if _, err := s3.NewFromConfig(e.acct).DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	detail, _ := json.Marshal(map[string]any{
		"eventVersion": "1.09", "eventTime": changedAt.UTC(), "eventSource": "s3.amazonaws.com", "eventName": "DeletePublicAccessBlock",
		"awsRegion": demoestate.East, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
		"recipientAccountId": e.integ.AccountID, "requestParameters": map[string]any{"bucketName": bucket, "publicAccessBlock": ""},
		"resources": []map[string]any{{"accountId": e.integ.AccountID, "type": "AWS::S3::Bucket", "ARN": bucketARN}},
	})
	eb := eventbridge.NewFromConfig(e.cfg)
	if _, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(changes), Source: aws.String("aws.s3"), DetailType: aws.String(citadel.CloudTrailDetailType),
		Detail: aws.String(string(detail)), Time: aws.Time(changedAt)}}}); err != nil {
		t.Fatal(err)
	}
	batch := receive(t, e.cfg, changeQueue, 1)
	out := buffer.Run(ctx, batch)
	if out.Rechecks != 1 || len(out.Failures) != 0 {
		t.Fatalf("buffer: %+v, want one re-check", out)
	}
	execs.Wait()
	// The drift queue also holds the full scan's events (first failures):
	// the re-check's is the one of its scan.
	ev, seconds := regression(t, e.cfg, driftQueue, out.ScanIDs[0], changedAt)
	if ev.SecurityCheck != "s3_bucket_level_public_access_block" || ev.AssetARN != bucketARN || ev.PreviousStatus != citadel.StatusPass {
		t.Fatalf("Check Regressed of the re-check: %+v, want s3_bucket_level_public_access_block on %s from pass", ev, bucketARN)
	}

	// The re-check touched the bucket's results alone, and cost a fraction
	// of the full scan.
	sc, err := e.store.GetScan(ctx, out.ScanIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if sc.Status != citadel.ScanSucceeded || sc.Summary == nil || sc.Recheck == nil || sc.Recheck.Resources != 1 {
		t.Fatalf("the re-check: %s (%s), recheck %+v", sc.Status, sc.FailureCause, sc.Recheck)
	}
	after := e.results(t)
	var changed []string
	for k, st := range after {
		if before[k] != st {
			changed = append(changed, fmt.Sprintf("%s on %s: %s → %s", k[0], k[1], before[k], st))
		}
	}
	slices.Sort(changed)
	want := []string{fmt.Sprintf("s3_bucket_level_public_access_block on %s: pass → fail", bucketARN)}
	if strings.Join(changed, "\n") != strings.Join(want, "\n") {
		t.Errorf("changed results:\n%s\nwant:\n%s", strings.Join(changed, "\n"), strings.Join(want, "\n"))
	}
	recheckCPU := (e.runner.lastRun.UserCPU + e.runner.lastRun.SystemCPU).Seconds()
	recheckChecks := 0
	for _, m := range e.runner.runs {
		recheckChecks += len(m.ChecksExecuted)
	}
	var recheckWrites float64
	var recheckRequests int
	for _, u := range prog.usage {
		recheckWrites += u.WriteUnits
		recheckRequests += u.Requests
	}
	if recheckChecks >= fullChecks || recheckWrites >= full.Report.Total.WriteUnits {
		t.Errorf("the re-check ran %d checks and wrote %.1f units; the full scan %d and %.1f", recheckChecks, recheckWrites,
			fullChecks, full.Report.Total.WriteUnits)
	}
	t.Logf("re-check of %s: change → Check Regressed in %.1f s (plus the queue's batching window when deployed); Prowler %.1f CPU-s, %d checks executed; DynamoDB %.1f write units in %d requests",
		bucket, seconds, recheckCPU, recheckChecks, recheckWrites, recheckRequests)
	t.Logf("full scan of the same account: %.1f s; Prowler %.1f CPU-s, %d checks executed; DynamoDB %.1f write units in %d requests",
		fullSeconds, fullCPU, fullChecks, full.Report.Total.WriteUnits, full.Report.Total.Requests)
}

// regression waits for the "Check Regressed" of scan scanID on the drift
// queue and says how long after since it arrived.
func regression(t *testing.T, cfg aws.Config, url, scanID string, since time.Time) (busevents.RegressionDetail, float64) {
	t.Helper()
	c := sqs.NewFromConfig(cfg)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		got, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Messages {
			var ev struct {
				Detail busevents.RegressionDetail `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Detail.ScanID == scanID {
				return ev.Detail, time.Since(since).Seconds()
			}
		}
	}
	t.Fatalf("no Check Regressed of scan %s within a minute", scanID)
	return busevents.RegressionDetail{}, 0
}

// receive takes n messages from a queue as Lambda's SQS poller would hand
// them to a function: one batch.
func receive(t *testing.T, cfg aws.Config, url string, n int) events.SQSEvent {
	t.Helper()
	c := sqs.NewFromConfig(cfg)
	var batch events.SQSEvent
	for deadline := time.Now().Add(30 * time.Second); len(batch.Records) < n && time.Now().Before(deadline); {
		got, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Messages {
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body)})
		}
	}
	if len(batch.Records) < n {
		t.Fatalf("the queue delivered %d of %d messages", len(batch.Records), n)
	}
	return batch
}
