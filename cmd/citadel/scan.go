package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
	"github.com/citadelsecure/citadel/shared/steps/controls"
	"github.com/citadelsecure/citadel/shared/steps/evidence"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
	"github.com/citadelsecure/citadel/shared/steps/plan"
	"github.com/citadelsecure/citadel/shared/steps/policies"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
)

// The local setup's names, from the environment the Lambdas read, with
// defaults for the demo.
func bucketName() string   { return envOr(citadel.EnvBucket, "citadel-scans") }
func eventBusName() string { return envOr(citadel.EnvEventBus, "citadel") }

func envOr(k, def string) string {
	if v := strings.TrimSpace(os.Getenv(k)); v != "" {
		return v
	}
	return def
}

// ProwlerInput is the Prowler step's payload in the local runner: the plan,
// whose shards the step runs as the state machine's Map does, each task's
// environment from citadel.NewShardTask of the plan and the shard.
type ProwlerInput struct {
	Plan citadel.PlanOutput `json:"plan"`
}

// ScanRef names the plan's scan (citadel.ScanStep), for the step's progress.
func (in ProwlerInput) ScanRef() (string, string) { return in.Plan.IntegrationID, in.Plan.ScanID }

// runner holds what the local pipeline's steps are built from: the same
// clients and stores the Lambdas' mains build.
type runner struct {
	cfg      aws.Config
	table    string
	bucket   string
	eventBus string
	prowler  *prowler.Prowler
	log      *slog.Logger
	// onRead reports the OCSF file's bytes read by check-results (pass 1
	// or 2 of the streaming ingest) against its size.
	onRead func(pass int, read, size int64)
	// workDir keeps Prowler's output ("" is a temporary folder).
	workDir string
	// prowlerDeadline bounds each shard's Prowler run (default the task's).
	prowlerDeadline time.Duration
	// prowlerParallel is how many shards run at once (1 when 0).
	prowlerParallel int

	// prowlerLog, when set, takes Prowler's log lines (else they go to log).
	prowlerLog *prowlerLog

	mu      sync.Mutex
	lastRun prowler.RunResult // the scan's Prowler runs' measurements, added up
	runs    []citadel.ProwlerManifest
}

// scannerLog is where the Prowler run logs.
func (r *runner) scannerLog() *slog.Logger {
	if r.prowlerLog != nil {
		return r.prowlerLog.logger()
	}
	return r.log
}

// prowlerCPU is the scan's Prowler runs' CPU time and peak memory.
func (r *runner) prowlerCPU() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastRun.Duration == 0 {
		return ""
	}
	findings, executed := 0, 0
	for _, m := range r.runs {
		findings, executed = findings+m.FindingCount, executed+len(m.ChecksExecuted)
	}
	return fmt.Sprintf("; %d findings, %d checks executed; %s CPU (user+system), %d MB peak", findings, executed,
		(r.lastRun.UserCPU+r.lastRun.SystemCPU).Round(100*time.Millisecond), r.lastRun.MaxRSSBytes>>20) +
		r.prowlerLog.summary()
}

// pipeline builds the steps in the state machine's order, each the very
// handler its Lambda runs, wired as functions/<step>/main.go wires it.
func (r *runner) pipeline() *localrun.Runner {
	s3c := s3.NewFromConfig(r.cfg, awsx.S3Options)
	blobs := &blobstore.S3{Client: s3c, Bucket: r.bucket}
	store := ddb.New(r.cfg, r.table)
	blobStore := ddb.New(r.cfg, r.table, ddb.WithBlobs(blobs))

	env := stepfn.Env{Log: r.log}.Defaults()
	planH := &plan.Handler{Store: store, S3: s3c, Bucket: r.bucket, Env: env}
	assetsH := &assetsync.Handler{Store: store, AWS: r.cfg, Env: env, FanOut: true, Objects: s3c}
	resultsH := &checkresults.Handler{Store: blobStore, S3: &progressObjects{Client: s3c, onRead: r.onRead}, Events: eventbridge.NewFromConfig(r.cfg),
		EventBus: r.eventBus, Env: stepfn.Env{Log: r.log}}
	controlsH := &controls.Handler{Store: store, Catalog: store, Results: store, Env: env}
	policiesH := &policies.Handler{Store: store, Catalog: store, Env: env}
	evidenceH := &evidence.Handler{Store: blobStore, Catalog: blobStore, Results: blobStore, Assets: blobStore, S3: s3c, Env: env}
	finalizeH := &finalize.Handler{Store: store, Env: stepfn.Env{Log: r.log}}
	scanner := &prowler.Scanner{S3: s3c, Prowler: r.prowler, WorkDir: r.workDir, Log: r.scannerLog()}

	return &localrun.Runner{Steps: []localrun.Step{
		localrun.Of(stepfn.New(citadel.StepPlan, planH.Handle, env, store)),
		localrun.AssetSync(stepfn.New(citadel.StepAssetSync, assetsH.Handle, env, store), citadel.AssetSyncFanOutConcurrency),
		localrun.Of(stepfn.New(citadel.StepProwler, func(ctx context.Context, in ProwlerInput) ([]citadel.ShardOutcome, error) {
			return r.runShards(ctx, scanner, in)
		}, env, store)),
		localrun.Of(stepfn.New(citadel.StepCheckResults, resultsH.Handle, env, blobStore)),
		localrun.Of(stepfn.New(citadel.StepControls, controlsH.Handle, env, store)),
		localrun.Of(stepfn.New(citadel.StepPolicies, policiesH.Handle, env, store)),
		localrun.Of(stepfn.New(citadel.StepEvidence, evidenceH.Handle, env, blobStore)),
		localrun.Of(stepfn.New(citadel.StepFinalize, finalizeH.Handle, env, store)),
	}}
}

// runShards runs the plan's shards as the state machine's Map does
// (localrun.RunShards): a failed shard is its outcome, not the step's
// failure.
func (r *runner) runShards(ctx context.Context, scanner *prowler.Scanner, in ProwlerInput) ([]citadel.ShardOutcome, error) {
	if len(in.Plan.Shards) == 0 {
		return nil, citadel.Invalid("prowler: the plan of scan %s has no shards", in.Plan.ScanID)
	}
	if scanner.Prowler == nil {
		return nil, citadel.Invalid("prowler: no Prowler installed (make venv, or %s)", prowler.EnvProwlerBin)
	}
	r.mu.Lock()
	r.lastRun, r.runs = prowler.RunResult{}, nil
	r.mu.Unlock()
	return localrun.RunShards(ctx, in.Plan.Shards, r.prowlerParallel, func(ctx context.Context, s citadel.Shard) error {
		_, err := r.runProwler(ctx, scanner, citadel.NewShardTask(in.Plan, s))
		return err
	}, prowler.Reason)
}

// runProwler is the task's scan mode for one shard: its parameters read
// from the environment the state machine would set, then Scanner.Scan, the
// code the Fargate entrypoint runs; the subprocess is the venv's Prowler.
func (r *runner) runProwler(ctx context.Context, scanner *prowler.Scanner, task citadel.ShardTask) (citadel.ProwlerManifest, error) {
	env := citadel.ProwlerTaskEnv(task)
	if r.prowlerDeadline > 0 {
		env[citadel.EnvTaskDeadline] = r.prowlerDeadline.String()
	}
	params, err := prowler.ScanParamsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		return citadel.ProwlerManifest{}, err
	}
	res, err := scanner.Scan(ctx, params)
	r.mu.Lock()
	r.lastRun.Duration += res.Run.Duration
	r.lastRun.UserCPU += res.Run.UserCPU
	r.lastRun.SystemCPU += res.Run.SystemCPU
	r.lastRun.MaxRSSBytes = max(r.lastRun.MaxRSSBytes, res.Run.MaxRSSBytes)
	if err == nil {
		r.runs = append(r.runs, res.Manifest)
	}
	r.mu.Unlock()
	return res.Manifest, err
}

// progressObjects hands check-results the S3 client, counting the OCSF
// file's bytes as the step streams them, for the progress bar.
type progressObjects struct {
	*s3.Client
	onRead func(pass int, read, size int64)
	mu     sync.Mutex
	passes int
}

func (p *progressObjects) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := p.Client.GetObject(ctx, in, opts...)
	if err != nil || p.onRead == nil || !strings.HasSuffix(aws.ToString(in.Key), "/"+citadel.OCSFFileName) {
		return out, err
	}
	p.mu.Lock()
	p.passes++
	pass := p.passes
	p.mu.Unlock()
	out.Body = &countingBody{ReadCloser: out.Body, size: aws.ToInt64(out.ContentLength), fn: func(n, size int64) { p.onRead(pass, n, size) }}
	return out, nil
}

type countingBody struct {
	io.ReadCloser
	n, size, last int64
	fn            func(read, size int64)
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n += int64(n)
	if c.n-c.last >= 64<<10 || err == io.EOF {
		c.last = c.n
		c.fn(c.n, c.size)
	}
	return n, err
}

// ScanReport is what `citadel scan` prints at the end: every field of the
// scan summary, the status, and the requests and write units of each step.
type ScanReport struct {
	ScanID        string             `json:"scan_id"`
	IntegrationID string             `json:"integration_id"`
	Status        citadel.ScanStatus `json:"status"`
	citadel.ScanSummary
	FailureCause string `json:"failure_cause,omitempty"`
	// Usage is each step's DynamoDB use, in pipeline order (Prowler's step
	// does not touch the table).
	Usage []StepUsage `json:"usage"`
	// Total is the sum of the steps' usage.
	Total citadel.Usage `json:"total_usage"`
}

// StepUsage is one step's DynamoDB use.
type StepUsage struct {
	Step string `json:"step"`
	citadel.Usage
}

// usageOf reads the Usage of a step's output.
func usageOf(out any) (citadel.Usage, bool) {
	switch o := out.(type) {
	case citadel.PlanOutput:
		return o.Usage, true
	case citadel.AssetSyncOutput:
		return o.Usage, true
	case citadel.CheckResultsOutput:
		return o.Usage, true
	case citadel.ControlsOutput:
		return o.Usage, true
	case citadel.PoliciesOutput:
		return o.Usage, true
	case citadel.EvidenceOutput:
		return o.Usage, true
	}
	return citadel.Usage{}, false
}

// scanOptions are citadel scan's flags.
type scanOptions struct {
	integration string
	outDir      string
	quiet       bool
}

func parseScanFlags(args []string) (scanOptions, error) {
	var o scanOptions
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.StringVar(&o.integration, "integration", "", "the integration to scan (required)")
	fs.StringVar(&o.outDir, "out", "out", "folder for report.html")
	fs.BoolVar(&o.quiet, "quiet", false, "no step logs on stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("scan: unexpected argument %q", fs.Arg(0))
	}
	if o.integration == "" {
		return o, citadel.Invalid("scan: --integration <id> is required")
	}
	return o, nil
}

func cmdScan(ctx context.Context, args []string) error {
	o, err := parseScanFlags(args)
	if err != nil {
		return err
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return err
	}
	r, err := newRunner(ctx, cfg, o.quiet)
	if err != nil {
		return err
	}
	if r.prowlerLog, err = openProwlerLog(o.outDir); err != nil {
		return err
	}
	defer r.prowlerLog.Close()
	return r.scanAndReport(ctx, os.Stdout, o.integration, o.outDir)
}

// newRunner finds the venv's Prowler and sets the local names.
func newRunner(ctx context.Context, cfg aws.Config, quiet bool) (*runner, error) {
	bin := os.Getenv(prowler.EnvProwlerBin)
	if bin == "" {
		bin = filepath.Join(".venv", "bin", "prowler")
		if _, err := os.Stat(bin); err != nil {
			bin = "prowler"
		}
	}
	p, err := prowler.Locate(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("scan: %w (make venv installs Prowler)", err)
	}
	log := awsx.Logger(os.Stderr)
	if quiet {
		log = errorLogger()
	}
	return &runner{cfg: cfg, table: tableName(), bucket: bucketName(), eventBus: eventBusName(), prowler: p, log: log,
		workDir: os.Getenv(prowler.EnvWorkDir)}, nil
}

// scanResult is a finished local scan.
type scanResult struct {
	Integration citadel.Integration
	Run         localrun.Result
	Report      ScanReport
}

// scan records a queued scan as the API does, then runs the pipeline with
// progress on w.
func (r *runner) scan(ctx context.Context, w io.Writer, integrationID string) (scanResult, error) {
	store := ddb.New(r.cfg, r.table)
	integ, err := store.GetIntegration(ctx, integrationID)
	if err != nil {
		return scanResult{}, fmt.Errorf("scan: %w", err)
	}
	now := citadel.SystemClock()
	sc := citadel.Scan{ID: citadel.NewID("scan", now), IntegrationID: integ.ID, FolderID: integ.FolderID,
		Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: now}
	if err := store.StartScan(ctx, sc); err != nil {
		return scanResult{}, fmt.Errorf("scan: %w", err)
	}
	fmt.Fprintf(w, "scan %s of integration %s (account %s, regions %s)\n", sc.ID, integ.ID, integ.AccountID, strings.Join(integ.Regions, " "))
	prog := &progress{w: w, extra: map[string]func() string{citadel.StepProwler: r.prowlerCPU}}
	r.onRead = prog.bytes
	p := r.pipeline()
	p.OnEvent = prog.event
	res, err := p.Run(ctx, citadel.StartScan{ScanID: sc.ID, IntegrationID: integ.ID, Trigger: citadel.TriggerAPI})
	if err != nil {
		return scanResult{}, err
	}
	rep := ScanReport{ScanID: sc.ID, IntegrationID: integ.ID, Status: res.Final.Status, ScanSummary: res.Final.Summary, Usage: prog.usage}
	if res.Failed != nil {
		rep.FailureCause = res.Failed.Cause
	}
	for _, u := range rep.Usage {
		rep.Total = rep.Total.Add(u.Usage)
	}
	return scanResult{Integration: integ, Run: res, Report: rep}, nil
}

// errorLogger logs only errors, as JSON on stderr.
func errorLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}
