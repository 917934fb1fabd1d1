package steptest_test

// Fault tests: every step of a scan that writes to DynamoDB is throttled in
// the middle of its run and retried as the state machine's Retry retries it
// (the same input, again, while it answers RetryableError, at most the
// state's MaxAttempts times); the table it leaves must equal the table of an
// unfaulted run, item for item.
//
// The same scan runs step by step, in the state machine's order, on an
// unfaulted table and on one faulted table per throttle point
// (faultPoints), where every step is throttled at that point in turn. After
// each step every faulted table's dump is compared with the unfaulted one's,
// so a step whose retry does not converge is named by its own subtest (the
// chain is one scan, so the run stops at the first step that diverges).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
	"github.com/citadelsecure/citadel/shared/steps/controls"
	"github.com/citadelsecure/citadel/shared/steps/evidence"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
	"github.com/citadelsecure/citadel/shared/steps/plan"
	"github.com/citadelsecure/citadel/shared/steps/policies"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var faultT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func faultClock() time.Time { return faultT0 }

// faultSteps are the scan's steps that write to the table, in the state
// machine's order, with the Retry MaxAttempts of each one's state. The
// numbers mirror infra/functions.go FunctionSpecs (Retries); infra is not
// imported here (CDK is heavy), and infra's TestStateMachineRetriesAndCatches
// checks that the state machine uses those numbers.
var faultSteps = []struct {
	step        string
	maxAttempts int
}{
	{citadel.StepPlan, 4},
	{citadel.StepAssetSync, 4},
	{citadel.StepCheckResults, 10},
	{citadel.StepControls, 4},
	{citadel.StepPolicies, 4},
	{citadel.StepEvidence, 4},
	{citadel.StepFinalize, 8},
}

// faultPoints are where in a step's DynamoDB requests the throttling
// starts: the index, among the handler's requests of the unfaulted run, of
// the first request throttled. Each point has its own faulted table, on
// which every step is throttled at that point in turn.
var faultPoints = []struct {
	name string
	at   func(ops []string) int
}{
	{"first-quarter", func(ops []string) int { return len(ops) / 4 }},
	{"middle", func(ops []string) int { return len(ops) / 2 }},
	{"last-quarter", func(ops []string) int { return len(ops) * 3 / 4 }},
	// Right after the step's first write has landed: the retry meets its
	// own partial work. A step whose only write is its last request (plan,
	// finalize) is throttled in the middle instead.
	{"after-first-write", func(ops []string) int {
		for i, op := range ops {
			if writeOps[op] && i+1 < len(ops) {
				return i + 1
			}
		}
		return len(ops) / 2
	}},
}

// writeOps are the DynamoDB operations that write.
var writeOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true, "TransactWriteItems": true}

const (
	faultScan  = "scn-fault-0001"
	faultInteg = "int-fault"
	faultFold  = "fld-fault"
)

// counting counts the DynamoDB requests a store's client sends, and names
// them in order.
type counting struct {
	next aws.HTTPClient
	n    atomic.Int64
	mu   sync.Mutex
	ops  []string
}

func (c *counting) Do(r *http.Request) (*http.Response, error) {
	if lambdatest.Service(r) == "dynamodb" {
		c.n.Add(1)
		_, op, _ := strings.Cut(lambdatest.Operation(r), " ")
		c.mu.Lock()
		c.ops = append(c.ops, op)
		c.mu.Unlock()
	}
	return c.next.Do(r)
}

// list is the operations of the requests sent after the first n.
func (c *counting) list(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ops[n:]...)
}

// since is the requests sent after the first n, runs of one operation
// counted: "UpdateItem, Query×2, BatchWriteItem".
func (c *counting) since(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	ops := c.ops[n:]
	for i := 0; i < len(ops); {
		j := i
		for j < len(ops) && ops[j] == ops[i] {
			j++
		}
		if j-i > 1 {
			parts = append(parts, fmt.Sprintf("%s×%d", ops[i], j-i))
		} else {
			parts = append(parts, ops[i])
		}
		i = j
	}
	return strings.Join(parts, ", ")
}

// scanWorld is one table and the scan's steps wired on it as the local
// runner (cmd/citadel/scan.go) wires them, with the outputs so far.
type scanWorld struct {
	client *dynamodb.Client
	table  string
	store  *ddb.Store
	blobs  *ddb.Store
	reqs   *counting
	steps  map[string]func(ctx context.Context) error
	state  citadel.FinalizeInput
}

// outcomes are what the prowler Map hands check-results: every planned
// shard's task ended well.
func (w *scanWorld) outcomes() []citadel.ShardOutcome {
	var out []citadel.ShardOutcome
	for _, s := range w.state.Plan.Shards {
		out = append(out, citadel.ShardOutcome{ShardID: s.ID})
	}
	return out
}

// faultEnv is what all the tables share: one moto account whose small estate
// asset-sync collects, one bucket (the checks file, the OCSF file and the
// blobs are content-addressed by scan id and hash, so every run writes the
// same objects), one bus.
type faultEnv struct {
	cfg     aws.Config
	account string
	role    string
	s3      *s3.Client
	bucket  string
	events  *eventbridge.Client
}

// newScanWorld wires a scan on a fresh table whose steps' store talks to
// endpoint (moto, or the throttling proxy in front of it). A faulted world's
// client does not retry: a throttled request reaches the step, and the
// step's retry is the state machine's (retried).
func newScanWorld(t *testing.T, e faultEnv, endpoint string, faulted bool) *scanWorld {
	t.Helper()
	ctx := context.Background()
	ddbCfg := e.cfg.Copy()
	reqs := &counting{next: ddbCfg.HTTPClient}
	ddbCfg.HTTPClient = reqs
	ddbCfg.BaseEndpoint = aws.String(endpoint)
	if faulted {
		ddbCfg.Retryer = func() aws.Retryer { return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1 }) }
	}
	_, table := testenv.Table(t, e.cfg)
	w := &scanWorld{table: table, reqs: reqs, client: dynamodb.NewFromConfig(ddbCfg)}
	w.store = ddb.NewFromClient(w.client, table, ddb.WithClock(faultClock))
	w.blobs = ddb.NewFromClient(w.client, table, ddb.WithClock(faultClock), ddb.WithBlobs(&blobstore.S3{Client: e.s3, Bucket: e.bucket}))

	// Before the scan: the catalog, the integration, the queued scan (the
	// API's part), unfaulted on both tables, through a client that retries
	// as the SDK does by default.
	seed := testenv.StoreOn(t, e.cfg, table, ddb.WithClock(faultClock))
	fixture := filepath.Join(testenv.RepoRoot(), "shared", "catalog", "testdata")
	env := stepfn.Env{Clock: faultClock}
	if _, err := (&catalogimport.Handler{Store: seed, Env: env}).Handle(ctx, citadel.CatalogImportInput{
		ProwlerSource: filepath.Join(fixture, "prowler"), SCFSource: filepath.Join(fixture, "scf")}); err != nil {
		t.Fatal(err)
	}
	if err := seed.CreateIntegration(ctx, citadel.Integration{ID: faultInteg, FolderID: faultFold, Name: "fault", AccountID: e.account,
		RoleARN: e.role, ExternalID: "citadel-test", Regions: []string{"us-east-1"}, CreatedAt: faultT0, UpdatedAt: faultT0}); err != nil {
		t.Fatal(err)
	}
	if err := seed.StartScan(ctx, citadel.Scan{ID: faultScan, IntegrationID: faultInteg, FolderID: faultFold, Trigger: citadel.TriggerAPI,
		Status: citadel.ScanQueued, CreatedAt: faultT0}); err != nil {
		t.Fatal(err)
	}

	var registry inventory.Registry
	for _, typ := range []string{inventory.TypeVPC, inventory.TypeS3Bucket} {
		c, ok := inventory.Default().Lookup(typ)
		if !ok {
			t.Fatalf("no %s collector", typ)
		}
		registry = append(registry, c)
	}
	planH := &plan.Handler{Store: w.store, S3: e.s3, Bucket: e.bucket, Env: env}
	// A small estate: the account's default VPC in one region and its
	// buckets (faultEnv).
	assetsH := &assetsync.Handler{Store: w.store, AWS: e.cfg, Registry: registry, Env: env}
	resultsH := &checkresults.Handler{Store: w.blobs, S3: e.s3, Events: e.events, Writers: 4, Env: env}
	controlsH := &controls.Handler{Store: w.store, Catalog: w.store, Results: w.store, Env: env}
	policiesH := &policies.Handler{Store: w.store, Catalog: w.store, Env: env}
	evidenceH := &evidence.Handler{Store: w.blobs, Catalog: w.blobs, Results: w.blobs, Assets: w.blobs, Env: env}
	finalizeH := &finalize.Handler{Store: w.store, Env: env}
	w.state.Scan = citadel.StartScan{ScanID: faultScan, IntegrationID: faultInteg, Trigger: citadel.TriggerAPI}
	max := map[string]int{}
	for _, s := range faultSteps {
		max[s.step] = s.maxAttempts
	}
	w.steps = map[string]func(context.Context) error{
		citadel.StepPlan: func(ctx context.Context) (err error) {
			w.state.Plan, err = retried(ctx, stepfn.New(citadel.StepPlan, planH.Handle, env, w.store), citadel.PlanInput{Scan: w.state.Scan}, max[citadel.StepPlan])
			return err
		},
		citadel.StepAssetSync: func(ctx context.Context) (err error) {
			w.state.Assets, err = retried(ctx, stepfn.New(citadel.StepAssetSync, assetsH.Handle, env, w.store), citadel.AssetSyncInput{Plan: w.state.Plan}, max[citadel.StepAssetSync])
			return err
		},
		citadel.StepCheckResults: func(ctx context.Context) (err error) {
			w.state.Prowler = w.outcomes()
			w.state.Results, err = retried(ctx, stepfn.New(citadel.StepCheckResults, resultsH.Handle, env, w.blobs), citadel.CheckResultsInput{Plan: w.state.Plan, Prowler: w.state.Prowler}, max[citadel.StepCheckResults])
			return err
		},
		citadel.StepControls: func(ctx context.Context) (err error) {
			w.state.Controls, err = retried(ctx, stepfn.New(citadel.StepControls, controlsH.Handle, env, w.store), citadel.ControlsInput{Plan: w.state.Plan}, max[citadel.StepControls])
			return err
		},
		citadel.StepPolicies: func(ctx context.Context) (err error) {
			w.state.Policies, err = retried(ctx, stepfn.New(citadel.StepPolicies, policiesH.Handle, env, w.store), citadel.PoliciesInput{Plan: w.state.Plan}, max[citadel.StepPolicies])
			return err
		},
		citadel.StepEvidence: func(ctx context.Context) (err error) {
			w.state.Evidence, err = retried(ctx, stepfn.New(citadel.StepEvidence, evidenceH.Handle, env, w.blobs), citadel.EvidenceInput{Plan: w.state.Plan}, max[citadel.StepEvidence])
			return err
		},
		citadel.StepFinalize: func(ctx context.Context) error {
			_, err := retried(ctx, stepfn.New(citadel.StepFinalize, finalizeH.Handle, env, w.store), w.state, max[citadel.StepFinalize])
			return err
		},
	}
	return w
}

// retried runs a step as Step Functions runs a Lambda state with a Retry on
// RetryableError: again with the same input while the answer's error type
// is RetryableError, at most maxAttempts attempts in all.
func retried[In, Out any](ctx context.Context, s stepfn.Step[In, Out], in In, maxAttempts int) (Out, error) {
	var out Out
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		out, err = s.Run(ctx, in)
		if err == nil || stepfn.ErrorType(err) != citadel.ErrorTypeRetryable {
			return out, err
		}
		if _, top := err.(*citadel.RetryableError); !top {
			return out, fmt.Errorf("attempt %d: a retryable error not at the top of the chain (%T): %w", attempt, err, err)
		}
	}
	return out, fmt.Errorf("still retryable after %d attempts: %w", maxAttempts, err)
}

// dump is every item of a table by its key, as plain values.
func dump(t *testing.T, client *dynamodb.Client, table string) map[string]map[string]any {
	t.Helper()
	items := map[string]map[string]any{}
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		for _, av := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(av, &m); err != nil {
				t.Fatal(err)
			}
			items[fmt.Sprint(m[ddb.AttrPK], " | ", m[ddb.AttrSK])] = m
		}
	}
	return items
}

// progressFields are what a ScanStep item records of the attempts rather
// than of the outcome: how many there were, the last one's status and error
// while it ran, and the usage, which is measured per attempt (a retried
// attempt re-reads what the throttled one had read). They legitimately
// differ between a faulted and an unfaulted run; every other field of the
// item (step, first start, finish time, counts) must be equal.
var progressFields = []string{"Attempts", "Status", "Error", "Usage"}

// normalize drops the progress fields of the ScanStep items and returns the
// attempts each step recorded.
func normalize(items map[string]map[string]any) map[string]float64 {
	attempts := map[string]float64{}
	for _, m := range items {
		if m[ddb.AttrType] != ddb.TypeScanStep {
			continue
		}
		if n, ok := m["Attempts"].(float64); ok {
			attempts[fmt.Sprint(m["Step"])] = n
		}
		for _, f := range progressFields {
			delete(m, f)
		}
	}
	return attempts
}

func TestFaultEveryStepConvergesAfterAThrottledRetry(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	cfg := testenv.Config(t)
	endpoint := testenv.Endpoint(t)
	acct, account, role := testenv.Account(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	// The scanned account's estate: its default VPC (moto's) and a dozen
	// buckets, which the findings below are about.
	estate := s3.NewFromConfig(acct, func(o *s3.Options) { o.UsePathStyle = true })
	var arns []string
	for i := range 12 {
		name := fmt.Sprintf("fault-%s-%02d", account, i)
		if _, err := estate.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatalf("create bucket %s: %v", name, err)
		}
		arns = append(arns, inventory.S3BucketARN("aws", name))
	}
	e := faultEnv{cfg: cfg, account: account, role: role, s3: s3c, bucket: bucket, events: eventbridge.NewFromConfig(acct)}
	throttle := lambdatest.Throttle(t, endpoint)

	a := newScanWorld(t, e, endpoint, false)
	var bs []*scanWorld
	for _, at := range faultPoints {
		b := newScanWorld(t, e, throttle.URL, true)
		if d := cmp.Diff(dumpNormalized(t, a), dumpNormalized(t, b)); d != "" {
			t.Fatalf("the tables differ before the scan (-unfaulted +%s):\n%s", at.name, d)
		}
		bs = append(bs, b)
	}

	// The Prowler tasks' part, once the plan has cut the scan into shards:
	// each shard's OCSF file and manifest, in the shared bucket (every world
	// plans the same shards of the same scan). The catalog fixture's two
	// mapped checks on every bucket, some failing, so check-results writes
	// results and history in several batches and controls, policies and
	// evidence have work.
	checks := []string{"s3_bucket_default_encryption", "iam_root_mfa_enabled"}
	writeProwlerPart := func(t *testing.T, p citadel.PlanOutput) {
		t.Helper()
		if len(p.Shards) != 1 {
			t.Fatalf("the plan made %d shards of one region's two checks; want 1", len(p.Shards))
		}
		var doc bytes.Buffer
		n := len(checks) * len(arns)
		if _, err := ocsftest.Write(&doc, n, func(i int) ocsftest.Spec {
			status := "PASS"
			if i%3 == 1 {
				status = "FAIL"
			}
			return ocsftest.Spec{Check: checks[i%len(checks)], StatusCode: status, UIDs: []string{arns[i/len(checks)]}}
		}); err != nil {
			t.Fatal(err)
		}
		manifest, _ := json.Marshal(citadel.ProwlerManifest{ScanID: faultScan, FindingCount: n, ChecksExecuted: checks})
		for key, body := range map[string][]byte{p.Shards[0].OCSFKey: doc.Bytes(), p.Shards[0].ManifestKey: manifest} {
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
				t.Fatal(err)
			}
		}
	}

	isDynamoDB := func(r *http.Request) bool { return lambdatest.Service(r) == "dynamodb" }
	seenOps := 0
	prev := dumpNormalized(t, a)
	for _, tc := range faultSteps {
		ok := t.Run(tc.step, func(t *testing.T) {
			before := a.reqs.n.Load()
			if err := a.steps[tc.step](ctx); err != nil {
				t.Fatalf("unfaulted %s: %v", tc.step, err)
			}
			if tc.step == citadel.StepPlan {
				writeProwlerPart(t, a.state.Plan)
			}
			// The step's requests: its start's progress write, the
			// handler's, its end's progress write.
			requests := int(a.reqs.n.Load() - before)
			handlerOps := a.reqs.list(int(before))
			handlerOps = handlerOps[1 : len(handlerOps)-1]
			handler := len(handlerOps)
			if handler < 2 {
				t.Fatalf("%s made %d DynamoDB requests: nothing to throttle in the middle of", tc.step, requests)
			}
			t.Logf("%s unfaulted: %s", tc.step, a.reqs.since(int(before)))
			da := dumpNormalized(t, a)
			if cmp.Equal(prev, da) {
				t.Fatalf("%s changed nothing in the table: comparing tables would prove nothing", tc.step)
			}
			prev = da
			for i, at := range faultPoints {
				t.Run(at.name, func(t *testing.T) {
					b := bs[i]
					// Throttle the handler's request at this point, and the
					// one after it (at most two: a retried attempt then runs
					// through, as one does after Step Functions' backoff).
					// The first request to pass is the step's start record.
					after := 1 + at.at(handlerOps)
					throttle.Set(isDynamoDB, after, 2)
					err := b.steps[tc.step](ctx)
					throttle.Off()
					throttled, ops := throttle.Throttled()
					ops = ops[seenOps:] // the throttler's log runs on across Set
					seenOps += len(ops)
					if err != nil {
						t.Fatalf("faulted %s: %v", tc.step, err)
					}
					if throttled == 0 {
						t.Fatalf("%s: no request was throttled", tc.step)
					}
					db := dump(t, b.client, b.table)
					attempts := normalize(db)
					if attempts[tc.step] < 2 {
						t.Errorf("%s: %v attempts recorded; want more than 1 (throttled %v): the step was not retried", tc.step, attempts[tc.step], ops)
					}
					if d := cmp.Diff(da, db); d != "" {
						t.Errorf("%s: after a throttled retry the table differs from the unfaulted run's (-unfaulted +faulted):\n%s", tc.step, d)
					}
					t.Logf("%s: %d requests unfaulted; throttled after %d: %s; %d attempts; %d items equal",
						tc.step, requests, after, strings.Join(ops, ", "), int(attempts[tc.step]), len(da))
				})
			}
		})
		if !ok {
			break // the scan's later steps would run on a diverged table
		}
	}
	t.Logf("fault tests: %s", time.Since(start).Round(time.Second))
}

func dumpNormalized(t *testing.T, w *scanWorld) map[string]map[string]any {
	items := dump(t, w.client, w.table)
	normalize(items)
	return items
}
