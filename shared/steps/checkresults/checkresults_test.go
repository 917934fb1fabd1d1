package checkresults_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/digest"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const integ = "int-test"

// env is a store, a bucket and an event bus whose events land in an SQS
// queue, all on the local AWS server.
type env struct {
	t       testing.TB
	account string
	store   *ddb.Store
	s3      *s3.Client
	bucket  string
	eb      *eventbridge.Client
	bus     string
	sqs     *sqs.Client
	queue   string
	// sentinels counts the sentinel events events() has sent.
	sentinels int
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, accountID, _ := testenv.Account(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	e := &env{t: t, account: accountID, s3: s3c, bucket: bucket,
		store: testenv.Store(t, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}), ddb.WithClock(func() time.Time { return now })),
		eb:    eventbridge.NewFromConfig(acct), sqs: sqs.NewFromConfig(acct), bus: testenv.Name(t, "citadel-bus")}
	// The name is this test's own: "already exists" is the SDK retrying a
	// create whose first attempt succeeded on a loaded machine.
	var exists *ebtypes.ResourceAlreadyExistsException
	if _, err := e.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(e.bus)}); err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	q, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Name(t, "regressions"))})
	if err != nil {
		t.Fatal(err)
	}
	e.queue = aws.ToString(q.QueueUrl)
	qa, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	rule := "regressions"
	if _, err := e.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(e.bus),
		EventPattern: aws.String(`{"source":["citadel"],"detail-type":["Check Regressed"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(e.bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(qa.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) handler() *checkresults.Handler {
	return &checkresults.Handler{Store: e.store, S3: e.s3, Events: e.eb, EventBus: e.bus, Writers: 4, Env: stepfn.Env{Clock: func() time.Time { return now }}}
}

func (e *env) plan(scan string) citadel.PlanOutput {
	return citadel.PlanOutput{ScanID: scan, IntegrationID: integ, AccountID: e.account, Bucket: e.bucket}
}

func (e *env) seed(checks []string, arns []string) {
	e.t.Helper()
	ctx := context.Background()
	var cs []citadel.SecurityCheck
	for _, c := range checks {
		cs = append(cs, citadel.SecurityCheck{ID: c, Title: c, Service: strings.Split(c, "_")[0], Severity: citadel.SeverityHigh})
	}
	if err := e.store.PutChecks(ctx, cs); err != nil {
		e.t.Fatal(err)
	}
	var as []citadel.Asset
	seen := map[string]bool{}
	for _, a := range arns {
		if seen[a] {
			continue
		}
		seen[a] = true
		as = append(as, citadel.Asset{ID: citadel.AssetID(integ, citadel.SourceAWS, a), IntegrationID: integ, Source: citadel.SourceAWS,
			SourceID: a, ServiceType: "AWS::S3::Bucket", Name: a, IsActive: true, FirstSeen: now, LastSeen: now})
	}
	for len(as) > 0 {
		n := min(len(as), 500)
		if err := e.store.PutAssets(ctx, as[:n]); err != nil {
			e.t.Fatal(err)
		}
		as = as[n:]
	}
}

func (e *env) put(key string, body []byte) {
	e.t.Helper()
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) putScan(scan string, ocsfDoc []byte, m *citadel.ProwlerManifest) {
	e.t.Helper()
	if ocsfDoc != nil {
		e.put(citadel.ScanObjectKey(scan, citadel.OCSFFileName), ocsfDoc)
	}
	if m != nil {
		b, _ := json.Marshal(m)
		e.put(citadel.ScanObjectKey(scan, citadel.ManifestName), b)
	}
}

// events drains the queue: the regression details delivered so far. It
// puts a sentinel event on the bus after the step's and reads until the
// sentinel arrives (the local server delivers a bus's events to the queue
// in order), so an event still on its way is waited for, never missed.
func (e *env) events() []checkresults.RegressionDetail {
	e.t.Helper()
	ctx := context.Background()
	e.sentinels++
	sentinel := fmt.Sprintf("sentinel-%d", e.sentinels)
	detail, _ := json.Marshal(checkresults.RegressionDetail{ID: sentinel})
	put, err := e.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(checkresults.EventSource), DetailType: aws.String(checkresults.EventRegression),
		Detail: aws.String(string(detail)), EventBusName: aws.String(e.bus)}}})
	if err != nil || put.FailedEntryCount != 0 {
		e.t.Fatalf("put the sentinel event: %v, %+v", err, put)
	}
	var out []checkresults.RegressionDetail
	for receives := 0; ; receives++ {
		if receives == 30 {
			e.t.Fatalf("the sentinel event did not arrive in 30 receives of 1 s; %d events before it", len(out))
		}
		msgs, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			e.t.Fatal(err)
		}
		arrived := false
		for _, m := range msgs.Messages {
			var ev struct {
				Source     string                        `json:"source"`
				DetailType string                        `json:"detail-type"`
				Detail     checkresults.RegressionDetail `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				e.t.Fatalf("event %s: %v", aws.ToString(m.Body), err)
			}
			if ev.Source != "citadel" || ev.DetailType != "Check Regressed" {
				e.t.Errorf("event source %q, detail-type %q", ev.Source, ev.DetailType)
			}
			if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				e.t.Fatal(err)
			}
			if ev.Detail.ID == sentinel {
				arrived = true
				continue
			}
			out = append(out, ev.Detail)
		}
		if arrived {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var ignoreUsage = cmpopts.IgnoreFields(citadel.CheckResultsOutput{}, "Usage")

func generated(t testing.TB, n int, spec func(int) ocsftest.Spec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := ocsftest.Write(&buf, n, spec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExampleOutput ingests Prowler's own example output twice: as it is
// (placeholders for uids, so nothing matches an asset), and with the
// placeholders filled in for the test account.
func TestExampleOutput(t *testing.T) {
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "prowler", "example_output_aws.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	checks := []string{"accessanalyzer_enabled", "account_maintain_current_contact_details",
		"account_maintain_different_contact_details_to_security_billing_and_operations",
		"account_security_contact_information_is_registered", "account_security_questions_are_registered_in_the_aws_account"}
	root := "arn:aws:iam::" + e.account + ":root"
	analyzer := "arn:aws:accessanalyzer:us-east-1:" + e.account + ":analyzer/unknown"
	e.seed(checks, []string{root, analyzer})

	e.putScan("scan-01", raw, &citadel.ProwlerManifest{ScanID: "scan-01", FindingCount: 5, ChecksExecuted: checks})
	out, err := e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-01")})
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.CheckResultsOutput{ARNsSkipped: 5, ChecksExecuted: 5, ProblemsKey: "scans/scan-01/" + checkresults.ProblemsFileName}
	if d := cmp.Diff(want, out, ignoreUsage); d != "" {
		t.Errorf("placeholders as they are (-want +got):\n%s", d)
	}
	problems := e.problems("scan-01")
	kinds := map[string]int{}
	for _, p := range problems {
		kinds[p.Kind]++
		if p.Offset <= 0 || int(p.Offset) >= len(raw) || raw[p.Offset] != '{' {
			t.Errorf("problem %+v: offset does not point at a finding", p)
		}
	}
	if d := cmp.Diff(map[string]int{checkresults.KindNotARN: 1, checkresults.KindForeignAccount: 4}, kinds); d != "" {
		t.Errorf("problem kinds (-want +got):\n%s", d)
	}

	filled := strings.NewReplacer("<account_uid>", e.account, "<resource_uid>", analyzer, "<region>", "us-east-1").Replace(string(raw))
	e.putScan("scan-02", []byte(filled), &citadel.ProwlerManifest{ScanID: "scan-02", FindingCount: 5, ChecksExecuted: checks})
	out, err = e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-02")})
	if err != nil {
		t.Fatal(err)
	}
	want = citadel.CheckResultsOutput{ResultsCreated: 5, ChecksExecuted: 5, ChecksFailed: 2, ChecksNotApplicable: 3,
		SnapshotsCaptured: 5, HistoryEntriesCreated: 5, RegressionEvents: 2}
	if d := cmp.Diff(want, out, ignoreUsage); d != "" {
		t.Errorf("placeholders filled (-want +got):\n%s", d)
	}
	evs := e.events()
	wantEvents := []checkresults.RegressionDetail{
		{SecurityCheck: "accessanalyzer_enabled", AssetARN: analyzer, Status: citadel.StatusFail},
		{SecurityCheck: checks[2], AssetARN: root, Status: citadel.StatusFail},
	}
	for i := range wantEvents {
		w := &wantEvents[i]
		w.Asset = citadel.AssetID(integ, "aws", w.AssetARN)
		w.IntegrationID, w.ScanID, w.Severity, w.Region = integ, "scan-02", "low", "us-east-1"
		w.ID = "scan-02/" + citadel.ResultID(integ, w.SecurityCheck, w.Asset)
	}
	sort.Slice(wantEvents, func(i, j int) bool { return wantEvents[i].ID < wantEvents[j].ID })
	if d := cmp.Diff(wantEvents, evs, cmpopts.IgnoreFields(checkresults.RegressionDetail{}, "Severity")); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}

	r, err := e.store.GetResult(ctx, integ, "accessanalyzer_enabled", citadel.AssetID(integ, "aws", analyzer))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != citadel.StatusFail || r.StatusExtended == "" || !json.Valid(r.RawOutput) || !json.Valid(r.ResourceSnapshot) ||
		r.ScanID != "scan-02" || r.AssetARN != analyzer || r.ContentHash == "" {
		t.Errorf("stored result: %+v", r)
	}
	var finding struct {
		Metadata struct {
			EventCode string `json:"event_code"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(r.RawOutput, &finding); err != nil || finding.Metadata.EventCode != "accessanalyzer_enabled" {
		t.Errorf("raw output is not the finding: %v %s", err, r.RawOutput[:min(80, len(r.RawOutput))])
	}
}

func (e *env) problems(scan string) []checkresults.Problem {
	e.t.Helper()
	obj, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(citadel.ScanObjectKey(scan, checkresults.ProblemsFileName))})
	if err != nil {
		e.t.Fatal(err)
	}
	defer obj.Body.Close()
	var out []checkresults.Problem
	sc := bufio.NewScanner(obj.Body)
	for sc.Scan() {
		var p checkresults.Problem
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestRescansWriteDriftOnly: a first scan writes every result; an unchanged
// rescan writes only its digest; a scan with drift writes the drift, its
// history and its events; every scan stays answerable.
func TestRescansWriteDriftOnly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const n = 300
	spec := ocsftest.Standard(e.account)
	var arns []string
	for i := 0; i < n; i++ {
		arns = append(arns, spec(i).UIDs[0])
	}
	e.seed(ocsftest.Checks, arns)
	first := generated(t, n, spec)
	h := e.handler()
	run := func(scan string, doc []byte) citadel.CheckResultsOutput {
		t.Helper()
		e.putScan(scan, doc, &citadel.ProwlerManifest{ScanID: scan, FindingCount: n, ChecksExecuted: ocsftest.Checks})
		out, err := h.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan(scan)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	out1 := run("scan-01", first)
	want1 := citadel.CheckResultsOutput{ResultsCreated: n, ChecksExecuted: 5, ChecksPassed: 240, ChecksFailed: 30, ChecksNotApplicable: 30,
		SnapshotsCaptured: n, HistoryEntriesCreated: n, RegressionEvents: 30}
	if d := cmp.Diff(want1, out1, ignoreUsage); d != "" {
		t.Errorf("first scan (-want +got):\n%s", d)
	}
	if got := len(e.events()); got != 30 {
		t.Errorf("first scan: %d events, want 30 (every new fail)", got)
	}

	out2 := run("scan-02", first)
	want2 := want1
	want2.ResultsCreated, want2.ResultsUnchanged, want2.HistoryEntriesCreated, want2.RegressionEvents = 0, n, 0, 0
	if d := cmp.Diff(want2, out2, ignoreUsage); d != "" {
		t.Errorf("unchanged rescan (-want +got):\n%s", d)
	}
	if got := len(e.events()); got != 0 {
		t.Errorf("unchanged rescan sent %d events", got)
	}
	if out2.Usage.WriteUnits*50 > out1.Usage.WriteUnits || out2.Usage.Requests > 10 {
		t.Errorf("unchanged rescan used %+v, first scan %+v: writes must not grow with inventory", out2.Usage, out1.Usage)
	}

	// Drift: finding 0 (pass) fails, finding 3 (fail) passes, finding 13
	// (fail) is muted, finding 1 gets a new detail (same status).
	drift := func(i int) ocsftest.Spec {
		s := spec(i)
		switch i {
		case 0:
			s.StatusCode = "FAIL"
		case 3:
			s.StatusCode = "PASS"
		case 13:
			s.Status = "Suppressed"
		case 1:
			s.StatusDetail = "a new detail"
		}
		return s
	}
	out3 := run("scan-03", generated(t, n, drift))
	want3 := citadel.CheckResultsOutput{ResultsUpdated: 4, ResultsUnchanged: n - 4, ChecksExecuted: 5, ChecksPassed: 240, ChecksFailed: 30,
		ChecksNotApplicable: 30, SnapshotsCaptured: n, HistoryEntriesCreated: 2, RegressionEvents: 1}
	if d := cmp.Diff(want3, out3, ignoreUsage); d != "" {
		t.Errorf("drift (-want +got):\n%s", d)
	}
	evs := e.events()
	a0 := citadel.AssetID(integ, "aws", arns[0])
	if len(evs) != 1 || evs[0].SecurityCheck != ocsftest.Checks[0] || evs[0].Asset != a0 || evs[0].PreviousStatus != citadel.StatusPass || evs[0].ScanID != "scan-03" {
		t.Errorf("drift events: %+v", evs)
	}

	// What was the status of check C on asset A in scan X.
	for scan, want := range map[string]citadel.CheckStatus{"scan-01": citadel.StatusPass, "scan-02": citadel.StatusPass, "scan-03": citadel.StatusFail} {
		r, err := e.store.ResultInScan(ctx, scan, ocsftest.Checks[0], a0)
		if err != nil || r.Status != want {
			t.Errorf("ResultInScan(%s) = %+v, %v; want %s", scan, r, err, want)
		}
	}
	a13 := citadel.AssetID(integ, "aws", arns[13])
	if r, err := e.store.ResultInScan(ctx, "scan-03", ocsftest.Checks[3], a13); err != nil || !r.Muted || r.Status != citadel.StatusFail {
		t.Errorf("muted result in scan-03: %+v, %v", r, err)
	}
	hist, err := e.store.ResultHistory(ctx, citadel.ResultID(integ, ocsftest.Checks[0], a0))
	if err != nil {
		t.Fatal(err)
	}
	wantHist := []citadel.CheckResultHistory{
		{IntegrationID: integ, CheckID: ocsftest.Checks[0], AssetID: a0, ScanID: "scan-01", NewStatus: citadel.StatusPass, ChangedAt: now},
		{IntegrationID: integ, CheckID: ocsftest.Checks[0], AssetID: a0, ScanID: "scan-03", PreviousStatus: citadel.StatusPass, NewStatus: citadel.StatusFail, ChangedAt: now},
	}
	if d := cmp.Diff(wantHist, hist); d != "" {
		t.Errorf("history (-want +got):\n%s", d)
	}
	cur, err := e.store.GetResult(ctx, integ, ocsftest.Checks[1], citadel.AssetID(integ, "aws", arns[1]))
	if err != nil || cur.StatusExtended != "a new detail" || cur.ScanID != "scan-03" {
		t.Errorf("updated result: %+v, %v", cur, err)
	}
}

// flakyEvents fails every PutEvents after the first `ok` calls.
type flakyEvents struct {
	checkresults.Events
	ok    int
	calls int
}

func (f *flakyEvents) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.calls++
	if f.calls > f.ok {
		return nil, errors.New("service unavailable")
	}
	return f.Events.PutEvents(ctx, in, opts...)
}

// TestRerunsCountTheSame: a run that failed half way and its retry count
// what one clean run counts, and a run of a finished scan changes nothing.
func TestRerunsCountTheSame(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const n = 120
	spec := ocsftest.Standard(e.account)
	var arns []string
	for i := 0; i < n; i++ {
		arns = append(arns, spec(i).UIDs[0])
	}
	e.seed(ocsftest.Checks, arns)
	e.putScan("scan-01", generated(t, n, spec), nil)
	flip := func(i int) ocsftest.Spec {
		s := spec(i)
		if i%10 == 0 {
			s.StatusCode = "FAIL"
		}
		return s
	}
	e.putScan("scan-02", generated(t, n, flip), nil)
	h := e.handler()
	if _, err := h.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-01")}); err != nil {
		t.Fatal(err)
	}
	e.events()

	broken := e.handler()
	broken.Events = &flakyEvents{Events: e.eb, ok: 0}
	_, err := broken.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-02")})
	if !citadel.IsRetryable(err) {
		t.Fatalf("failed run: %v, want a retryable error", err)
	}
	var re *citadel.RetryableError
	if !errors.As(err, &re) || fmt.Sprintf("%T", err) != "*citadel.RetryableError" {
		t.Errorf("the error crosses the boundary as %T, want *citadel.RetryableError", err)
	}
	if _, err := e.store.GetScanDigest(ctx, "scan-02"); !citadel.IsNotFound(err) {
		t.Errorf("a failed run committed its digest: %v", err)
	}

	out, err := h.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-02")})
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.CheckResultsOutput{ResultsUpdated: 12, ResultsUnchanged: n - 12, ChecksExecuted: 5, ChecksPassed: 84, ChecksFailed: 24,
		ChecksNotApplicable: 12, SnapshotsCaptured: n, HistoryEntriesCreated: 12, RegressionEvents: 12}
	if d := cmp.Diff(want, out, ignoreUsage); d != "" {
		t.Errorf("retried run (-want +got):\n%s", d)
	}
	if got := len(e.events()); got != 12 {
		t.Errorf("retried run delivered %d events, want 12", got)
	}
	before := e.store.Usage()
	again, err := h.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-02")})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(out, again, ignoreUsage); d != "" {
		t.Errorf("re-run of a finished scan (-first +again):\n%s", d)
	}
	if used := e.store.Usage().Sub(before); used.WriteUnits != 0 || again.Usage.WriteUnits != 0 {
		t.Errorf("re-run of a finished scan wrote %+v", used)
	}
	if got := len(e.events()); got != 0 {
		t.Errorf("re-run of a finished scan sent %d events", got)
	}
}

// TestHostileInput: each kind of bad input is counted and reported with its
// position, and everything else is ingested.
func TestHostileInput(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	good := func(i int) string {
		b, _ := json.Marshal(ocsftest.Finding(ocsftest.Spec{Check: "s3_bucket_default_encryption", StatusCode: "PASS",
			UIDs: []string{fmt.Sprintf("arn:aws:s3:::bucket-%d", i)}}))
		return string(b)
	}
	var arns []string
	for i := 0; i < 10; i++ {
		arns = append(arns, fmt.Sprintf("arn:aws:s3:::bucket-%d", i))
	}
	e.seed([]string{"s3_bucket_default_encryption", "iam_root_mfa"}, arns)
	f := func(check, status string, uids ...string) string {
		b, _ := json.Marshal(ocsftest.Finding(ocsftest.Spec{Check: check, StatusCode: status, UIDs: uids}))
		return string(b)
	}
	elems := []string{
		good(0),
		`{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":["PASS"],"resources":[{"uid":"arn:aws:s3:::bucket-1"}]}`, // wrong type
		`{"metadata":{"event_code":"s3_bucket_default_encryption"},"resources":[{"uid":"arn:aws:s3:::bucket-1"}]}`,                        // missing status_code
		`{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":"FAIL","status_detail":"` + strings.Repeat("x", 10<<20) + `","resources":[{"uid":"arn:aws:s3:::bucket-1"}]}`,
		f("s3_bucket_default_encryption", "FAIL", "arn:aws:s3:::bucket-0"),                           // duplicate of element 0, worse: kept
		f("not_a_catalog_check", "FAIL", "arn:aws:s3:::bucket-2"),                                    // unknown check
		f("iam_root_mfa", "FAIL", "arn:aws:iam::999999999999:root"),                                  // foreign account
		f("iam_root_mfa", "FAIL", "root-account"),                                                    // not an ARN
		f("iam_root_mfa", "PASS", "arn:aws:s3:::bucket-404"),                                         // not an asset
		f("s3_bucket_default_encryption", "ERROR", "arn:aws:s3:::bucket-3", "arn:aws:s3:::bucket-4"), // two resources
		`{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":tru}`,               // syntax
		good(5),
		`{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":"PASS","risk_score":NaN,"resources":[{"uid":"arn:aws:s3:::bucket-7"}]}`, // NaN
		`{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":"PASS","resources":[{"uid":"arn:aws:s3:::bucket-8","data":` +
			strings.Repeat("[", 12000) + strings.Repeat("]", 12000) + `}]}`, // nesting deeper than the decoder allows
	}
	// A leading byte order mark is skipped; offsets stay file offsets.
	var b strings.Builder
	b.WriteString("\xEF\xBB\xBF[\n")
	offs := make([]int64, len(elems))
	for i, el := range elems {
		if i > 0 {
			b.WriteString(",\n")
		}
		offs[i] = int64(b.Len())
		b.WriteString(el)
	}
	doc := b.String() + "\n]\n"
	// The manifest as the task writes it: 8 findings pass validation, 6 do not.
	e.putScan("scan-01", []byte(doc), &citadel.ProwlerManifest{Version: citadel.ManifestVersion, ScanID: "scan-01",
		FileSize: int64(len(doc)), FindingCount: 8, MalformedFindings: 6})
	h := e.handler()
	h.MaxFindingBytes = 1 << 20
	out, err := h.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-01")})
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.CheckResultsOutput{ResultsCreated: 4, ChecksExecuted: 2, ChecksPassed: 1, ChecksFailed: 1, ChecksError: 2,
		SnapshotsCaptured: 4, HistoryEntriesCreated: 4, RegressionEvents: 1, ARNsSkipped: 3, UnknownChecks: 1,
		MalformedFindings: 6, DuplicateFindings: 1, ProblemsKey: "scans/scan-01/" + checkresults.ProblemsFileName}
	if d := cmp.Diff(want, out, ignoreUsage); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	type pos struct {
		Index  int
		Offset int64
		Kind   string
	}
	var got []pos
	for _, p := range e.problems("scan-01") {
		got = append(got, pos{p.Index, p.Offset, p.Kind})
	}
	wantPos := []pos{
		{1, offs[1], "wrong_type"}, {2, offs[2], "missing_field"}, {3, offs[3], "too_large"},
		{4, offs[4], checkresults.KindDuplicate}, {5, offs[5], checkresults.KindUnknownCheck},
		{6, offs[6], checkresults.KindForeignAccount}, {7, offs[7], checkresults.KindNotARN},
		{8, offs[8], checkresults.KindUnknownAsset}, {10, offs[10], "syntax"}, {12, offs[12], "syntax"}, {13, offs[13], "syntax"},
	}
	if d := cmp.Diff(wantPos, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	r, err := e.store.GetResult(ctx, integ, "s3_bucket_default_encryption", citadel.AssetID(integ, "aws", arns[0]))
	if err != nil || r.Status != citadel.StatusFail {
		t.Errorf("duplicate: the worse status must win: %+v, %v", r.Status, err)
	}
}

func TestMissingOCSF(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.seed([]string{"s3_x"}, nil)
	e.putScan("scan-empty", nil, &citadel.ProwlerManifest{ScanID: "scan-empty", Empty: true, ChecksExecuted: []string{"s3_x"}})
	out, err := e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-empty")})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(citadel.CheckResultsOutput{ChecksExecuted: 1}, out, ignoreUsage); d != "" {
		t.Errorf("empty scan (-want +got):\n%s", d)
	}
	_, err = e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-lost")})
	if !citadel.IsNotFound(err) {
		t.Errorf("no OCSF file and no manifest: %v, want not found", err)
	}
	_, err = e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: citadel.PlanOutput{ScanID: "x"}})
	if !citadel.IsInvalid(err) {
		t.Errorf("empty plan: %v, want invalid", err)
	}
}

// failingCommit is the real store whose digest write fails: the run writes
// every result and event, then cannot commit.
type failingCommit struct{ *ddb.Store }

func (failingCommit) PutScanDigest(context.Context, ddb.ScanDigest, []digest.Entry) error {
	return citadel.Retryable(errors.New("throttled"))
}

// TestRunThatCouldNotCommitIsRetriedExactly: results written by a run that
// failed at the end (new ones the previous digest lacks, changed ones it
// holds) are decided again exactly as before, on a first scan and on a
// rescan.
func TestRunThatCouldNotCommitIsRetriedExactly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	spec := ocsftest.Standard(e.account)
	var arns []string
	for i := 0; i < 60; i++ {
		arns = append(arns, spec(i).UIDs[0])
	}
	e.seed(ocsftest.Checks, arns)
	e.putScan("scan-01", generated(t, 50, spec), nil)
	e.putScan("scan-02", generated(t, 60, func(i int) ocsftest.Spec {
		s := spec(i)
		if i%10 == 0 {
			s.StatusCode = "FAIL"
		}
		return s
	}), nil)
	broken := e.handler()
	broken.Store = failingCommit{e.store}
	good := e.handler()

	for _, tt := range []struct {
		scan string
		want citadel.CheckResultsOutput
	}{
		{"scan-01", citadel.CheckResultsOutput{ResultsCreated: 50, ChecksExecuted: 5, ChecksPassed: 40, ChecksFailed: 5, ChecksNotApplicable: 5,
			SnapshotsCaptured: 50, HistoryEntriesCreated: 50, RegressionEvents: 5}},
		{"scan-02", citadel.CheckResultsOutput{ResultsCreated: 10, ResultsUpdated: 5, ResultsUnchanged: 45, ChecksExecuted: 5, ChecksPassed: 42,
			ChecksFailed: 12, ChecksNotApplicable: 6, SnapshotsCaptured: 60, HistoryEntriesCreated: 15, RegressionEvents: 7}},
	} {
		if _, err := broken.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan(tt.scan)}); !citadel.IsRetryable(err) {
			t.Fatalf("%s: broken run: %v", tt.scan, err)
		}
		first := e.events()
		out, err := good.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan(tt.scan)})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tt.want, out, ignoreUsage); d != "" {
			t.Errorf("%s: retry (-want +got):\n%s", tt.scan, d)
		}
		// The retry sends the same regressions again, with the same ids.
		if d := cmp.Diff(first, e.events()); d != "" || len(first) != tt.want.RegressionEvents {
			t.Errorf("%s: %d events then (-first +retry):\n%s", tt.scan, len(first), d)
		}
	}
	hist, err := e.store.ResultHistory(ctx, citadel.ResultID(integ, ocsftest.Checks[0], citadel.AssetID(integ, "aws", arns[55])))
	if err != nil || len(hist) != 1 || hist[0].PreviousStatus != "" || hist[0].ScanID != "scan-02" {
		t.Errorf("history of a result new in scan-02: %+v, %v", hist, err)
	}
}

// TestOutOfTimeResumes: a run short of time stops after a segment with its
// progress saved; the retries resume there, and together they write, count
// and send exactly what one run would.
func TestOutOfTimeResumes(t *testing.T) {
	e := newEnv(t)
	const n = 300
	spec := ocsftest.Standard(e.account)
	var arns []string
	for i := 0; i < n; i++ {
		arns = append(arns, spec(i).UIDs[0])
	}
	e.seed(ocsftest.Checks, arns)
	e.putScan("scan-01", generated(t, n, spec), nil)
	h := e.handler()
	h.SegmentResults = 64
	h.Margin = 2 * time.Hour // every invocation is "short of time" after one segment
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var out citadel.CheckResultsOutput
	var err error
	calls := 0
	for calls = 1; calls <= 10; calls++ {
		out, err = h.Handle(ctx, citadel.CheckResultsInput{Plan: e.plan("scan-01")})
		if err == nil {
			break
		}
		if !errors.Is(err, checkresults.ErrOutOfTime) || !citadel.IsRetryable(err) {
			t.Fatalf("call %d: %v, want a retryable ErrOutOfTime", calls, err)
		}
	}
	if calls != 5 { // 300 results in segments of 64
		t.Errorf("finished in %d calls, want 5", calls)
	}
	want := citadel.CheckResultsOutput{ResultsCreated: n, ChecksExecuted: 5, ChecksPassed: 240, ChecksFailed: 30, ChecksNotApplicable: 30,
		SnapshotsCaptured: n, HistoryEntriesCreated: n, RegressionEvents: 30}
	if d := cmp.Diff(want, out, ignoreUsage); d != "" {
		t.Errorf("resumed run (-want +got):\n%s", d)
	}
	evs := e.events()
	ids := map[string]bool{}
	for _, ev := range evs {
		ids[ev.ID] = true
	}
	if len(evs) != 30 || len(ids) != 30 {
		t.Errorf("%d events, %d distinct; want 30 sent once each", len(evs), len(ids))
	}
	page, err := e.store.ListResults(context.Background(), integ, 1000, "")
	if err != nil || len(page.Items) != n {
		t.Errorf("%d results stored, %v", len(page.Items), err)
	}
}

// TestSampleEvents: the sample events decode as the step's input, field for field.
func TestSampleEvents(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "events", "check-results", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var in citadel.CheckResultsInput
		if err := dec.Decode(&in); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if in.Plan.ScanID == "" || in.Plan.IntegrationID == "" || in.Plan.Bucket == "" || !citadel.ValidID(in.Plan.ScanID) {
			t.Errorf("%s: plan %+v lacks what the step needs", filepath.Base(f), in.Plan)
		}
	}
}
