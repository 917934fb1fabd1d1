// Package checkresults is the check-results step: it streams Prowler's OCSF
// output from S3, turns each finding into a result per matched asset,
// compares the scan with the previous one and writes only what changed
// (current results, history entries), emits an EventBridge event per
// regression, and records the scan's compact digest.
//
// It reads the output twice at most. Pass 1 validates every finding and
// keeps 28 bytes per result (check, asset, status, content hash, position);
// the results are then sorted and merged with the previous scan's digest.
// Pass 2 runs only when something changed and re-reads the output to build
// the changed results in full. An unchanged rescan therefore reads the
// output and the previous digest once and writes its own digest (21 bytes a
// result).
//
// A scan's Prowler work is one file (a plan without shards, as executions
// started before shards have) or one file per shard: both passes go over
// the shards' files in plan order, and a finding's position is scan-wide
// (each file's findings numbered after the previous file's), so pass 2's
// order and the resume progress name one finding of one file; the problems
// report gives each problem's shard, its index and byte offset in that
// shard's file. A shard that failed (the Map's outcome, no manifest, an exit
// code that says Prowler did not finish) is not read: the results of its
// checks in its regions are left as they were and the previous digest's
// entries of them are carried into this scan's digest (scope.go), while the
// other shards' results are processed as usual; every shard failed fails
// the step. Each shard that ran has its duration shared among its units and
// recorded for the next plan (durations.go).
//
// Pass 1 also checks what it read of each file against that file's manifest
// (finding and malformed counts, file size): a file that cannot be read at
// all, or that does not match, fails the step with a non-retryable error
// that says what is wrong (and names the shard), rather than ingesting part
// of a scan.
//
// A failing result that an approved exception covers (shared/exceptions:
// the integration's approved exceptions, read once per run) is marked with
// the exception's id before the comparison: it is counted excepted, not
// failed, its history records fail → excepted, and its mark is part of what
// the comparison compares, so an exception starting or ending to apply
// rewrites the result once and an unchanged rescan writes nothing. Results
// carried for failed shards keep their marks as they were.
//
// Files, in the order a run goes: shards.go (which files, which shards
// failed), source.go (the manifest and the OCSF file), pass1.go, mark.go
// (the exceptions' marks), compare.go (the store reads of the comparison)
// and merge.go (its pure logic),
// scope.go (what failed shards leave untouched, pure), pass2.go, events.go,
// report.go (the problems report), durations.go, recheck.go (a re-check's
// partial mode: only the results of the resources it names, the rest of the
// previous digest carried as failed shards' are); this file holds the types
// and the run's outline. A result's entry and its byte format are
// shared/digest's.
package checkresults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/busevents"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/digest"
	"github.com/citadelsecure/citadel/shared/exceptions"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Event source and detail type of a regression (citadel's, one home).
const (
	EventSource     = citadel.EventSource
	EventRegression = citadel.EventCheckRegressed
)

// ProblemsFileName is the report of bad findings and skipped resources,
// next to the OCSF file: one JSON object a line.
const ProblemsFileName = "check-results.problems.jsonl"

// MaxProblemsReported bounds the report; the counts stay exact.
const MaxProblemsReported = 10000

// Store is what the step needs of the DynamoDB store.
type Store interface {
	PutResults(ctx context.Context, ws []ddb.ResultWrite) error
	ResultStates(ctx context.Context, integrationID string, refs []ddb.ResultRef) (map[ddb.ResultRef]ddb.ResultState, error)
	PutScanDigest(ctx context.Context, d ddb.ScanDigest, entries []digest.Entry) error
	GetScanDigest(ctx context.Context, scanID string) (ddb.ScanDigest, error)
	LatestScanDigest(ctx context.Context, integrationID string) (ddb.ScanDigest, error)
	DigestEntries(ctx context.Context, d ddb.ScanDigest, fn func(digest.Entry) error) error
	ListActiveAssets(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Asset], error)
	ListChecks(ctx context.Context) ([]citadel.SecurityCheck, error)
	PutScanProgress(ctx context.Context, scanID string, finding int) error
	ScanProgress(ctx context.Context, scanID string) (int, error)
	MergeShardDurations(ctx context.Context, integrationID string, measured citadel.ShardDurations) error
	// The integration's approved exceptions (exceptions.Load).
	exceptions.Store
	Usage() citadel.Usage
}

// Objects reads the scan's objects and writes the problems report (*s3.Client).
type Objects interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Events sends drift events (*eventbridge.Client).
type Events interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Handler runs the step.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store    Store
	S3       Objects
	Events   Events
	EventBus string // name or ARN; "" is the default bus
	// Writers is the number of concurrent DynamoDB writers (default 8).
	Writers int
	// MaxFindingBytes bounds one finding (default ocsf.DefaultMaxFindingBytes).
	MaxFindingBytes int
	// SegmentResults is how many changed results are written between two
	// progress marks (default 5000).
	SegmentResults int
	// Margin is the time left before the invocation's deadline at which a
	// run stops after its current segment, records its progress and returns
	// a retryable ErrOutOfTime; the retry resumes there (default 2 minutes).
	Margin time.Duration
}

// ErrOutOfTime is returned (retryable) when a run stops before Lambda's
// deadline with its progress saved.
var ErrOutOfTime = errors.New("out of time; progress saved, a retry resumes")

// Problem is one entry of the problems report: Index and Offset are the
// finding's place in its file, Shard the shard whose file it is ("" for a
// plan without shards).
type Problem struct {
	Shard   string `json:"shard,omitempty"`
	Index   int    `json:"index"`
	Offset  int64  `json:"offset"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Check   string `json:"check,omitempty"`
	UID     string `json:"uid,omitempty"`
}

// Kinds of skipped resources and findings, beside ocsf.ProblemKind.
const (
	KindUnknownCheck   = "unknown_check"
	KindNotARN         = "not_arn"
	KindForeignAccount = "foreign_account"
	KindUnknownAsset   = "unknown_asset"
	KindDuplicate      = "duplicate"
)

// RegressionDetail is the detail of a "Check Regressed" event (shared/busevents).
type RegressionDetail = busevents.RegressionDetail

// entry is one result of the scan as pass 1 keeps it: its digest entry
// (whose Check indexes run.checks, in first-seen order until sortEntries
// renumbers it into the digest's sorted checks) and its place in the file.
type entry struct {
	digest.Entry
	finding uint32 // the finding's scan-wide index (shards.go)
	res     uint16 // index of the resource in the finding
	snap    bool   // the resource has a snapshot
}

type decision uint8

const (
	unchanged decision = iota
	created
	updated
)

// change is a result pass 2 writes.
type change struct {
	finding uint32
	res     uint16
	kind    decision
	prev    citadel.CheckStatus
	hadPrev bool
	history bool
	regress bool // the history entry is a regression that emits an event
}

type run struct {
	h     *Handler
	plan  citadel.PlanOutput
	out   citadel.CheckResultsOutput
	files []*file // the files to read, in plan order
	scope scope   // what failed shards left untouched (nil: none failed)
	// failedShards are the shards that failed, in plan order; serviceOf
	// the catalog's service of each check (buildScope's groups).
	failedShards []*citadel.PlannedShard
	serviceOf    map[string]string
	known        map[string]bool         // catalog checks
	assets       map[digest.Asset]uint16 // active assets' packed id → index in regions
	regions      []string                // the assets' regions; 0 is none
	checks       []string                // check ids in first-seen order
	checkIdx     map[string]uint16
	entries      []entry
	seen         map[digest.Key]int32 // (check, asset) → index in entries
	problems     []Problem
	dropped      int
	// exceptions are the integration's live approved exceptions; tags the
	// active assets' tags their tag scopes name; marks the exception of
	// each marked result (mark.go).
	exceptions *exceptions.Set
	tags       map[digest.Asset]map[string]string
	marks      map[position]string
	// failedBytes is the JSON size of the failed shards the output names.
	failedBytes int
	// recheck is what a re-check covers (recheck.go); nil on a full scan.
	recheck *recheck
}

// Handle ingests the scan's OCSF output.
func (h *Handler) Handle(ctx context.Context, in citadel.CheckResultsInput) (citadel.CheckResultsOutput, error) {
	p := in.Plan
	if p.ScanID == "" || p.IntegrationID == "" || p.Bucket == "" {
		return citadel.CheckResultsOutput{}, citadel.Invalid("check-results: plan needs scan_id, integration_id and bucket")
	}
	log := h.Logger().With("step", citadel.StepCheckResults, "scan_id", p.ScanID, "integration_id", p.IntegrationID)
	start := h.Store.Usage()

	// A re-run of a completed step: its digest holds the counts.
	if d, err := h.Store.GetScanDigest(ctx, p.ScanID); err == nil {
		var out citadel.CheckResultsOutput
		if err := json.Unmarshal(d.Output, &out); err != nil {
			return out, fmt.Errorf("check-results: stored output of scan %s: %w", p.ScanID, err)
		}
		out.Usage = h.Store.Usage().Sub(start)
		log.Info("results already ingested", "results", d.Count)
		return out, nil
	} else if !citadel.IsNotFound(err) {
		return citadel.CheckResultsOutput{}, err
	}

	r := &run{h: h, plan: p, checkIdx: map[string]uint16{}, seen: map[digest.Key]int32{}}
	out, err := r.do(ctx, log, in.Prowler)
	out.Usage = h.Store.Usage().Sub(start)
	if err != nil {
		return out, err
	}
	log.Info("results ingested", "results_created", out.ResultsCreated, "results_updated", out.ResultsUpdated,
		"results_unchanged", out.ResultsUnchanged, "history_entries_created", out.HistoryEntriesCreated,
		"regression_events", out.RegressionEvents, "checks_excepted", out.ChecksExcepted, "arns_skipped", out.ARNsSkipped,
		"malformed_findings", out.MalformedFindings, "unknown_checks", out.UnknownChecks,
		"duplicate_findings", out.DuplicateFindings, "results_carried", out.ResultsCarried,
		"shards_failed", out.ShardsFailedCount, "requests", out.Usage.Requests, "write_units", out.Usage.WriteUnits)
	return out, nil
}

func (r *run) ocsfKey() string {
	if r.plan.OCSFKey != "" {
		return r.plan.OCSFKey
	}
	return citadel.ScanObjectKey(r.plan.ScanID, citadel.OCSFFileName)
}

func (r *run) do(ctx context.Context, log *slog.Logger, outcomes []citadel.ShardOutcome) (citadel.CheckResultsOutput, error) {
	if err := r.loadRecheck(ctx); err != nil {
		return r.out, err
	}
	if err := r.sources(ctx, outcomes); err != nil {
		return r.out, err
	}
	for _, f := range r.out.ShardsFailed {
		log.Warn("shard failed: its results are kept as they were", "shard", f.ShardID, "regions", f.Regions,
			"checks", f.Checks, "reason", f.Reason)
	}
	if err := r.loadCatalogAndAssets(ctx); err != nil {
		return r.out, err
	}
	r.buildScope()

	// Pass 1, file after file.
	var next uint32
	executed := map[string]bool{}
	for _, f := range r.files {
		f.first = next
		if err := r.readFile(ctx, log, f); err != nil {
			return r.out, inShard(f.shard, err)
		}
		next = f.first + f.count
		if f.manifest != nil {
			for _, c := range f.manifest.ChecksExecuted {
				executed[c] = true
			}
		}
	}
	if len(executed) > 0 {
		r.out.ChecksExecuted = len(executed)
	} else {
		r.out.ChecksExecuted = len(r.checks)
	}
	if r.recheck != nil {
		r.recheck.setExecuted(executed, r.checks)
	}

	sorted := r.sortEntries()
	r.mark()
	countResults(&r.out, r.entries)
	base, err := r.compare(ctx, sorted)
	if err != nil {
		return r.out, err
	}
	if err := r.pass2(ctx, base.changes); err != nil {
		return r.out, err
	}
	if err := r.report(ctx, log); err != nil {
		return r.out, err
	}
	if r.recheck == nil { // a re-check's partial durations would spoil the plan's estimates
		if err := r.recordDurations(ctx, log); err != nil {
			return r.out, err
		}
	}

	// Commit: the digest makes this scan the base of the next one.
	outJSON, err := json.Marshal(r.out)
	if err != nil {
		return r.out, err
	}
	de := make([]digest.Entry, len(r.entries))
	for i, e := range r.entries {
		de[i] = e.Entry
	}
	de, checks := withCarried(de, sorted, base.carried, base.checks)
	d := ddb.ScanDigest{IntegrationID: r.plan.IntegrationID, ScanID: r.plan.ScanID, PreviousScanID: base.scanID,
		Checks: checks, Output: outJSON, CreatedAt: r.h.Now()}
	if err := r.h.Store.PutScanDigest(ctx, d, de); err != nil {
		return r.out, err
	}
	return r.out, nil
}

// readFile is pass 1 over one file, checked against its manifest. A file
// its manifest says is empty may be absent.
func (r *run) readFile(ctx context.Context, log *slog.Logger, f *file) error {
	body, err := r.get(ctx, f.ocsfKey)
	switch {
	case citadel.IsNotFound(err) && f.manifest != nil && (f.manifest.Empty || f.manifest.FindingCount == 0):
		log.Info("Prowler reported no findings and wrote no OCSF file", "shard", f.shard)
		f.absent = true
		return nil
	case err != nil:
		return err
	}
	defer body.Close()
	if err := r.pass1(f, body); err != nil {
		return err
	}
	return r.verify(f)
}
