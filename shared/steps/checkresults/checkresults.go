// Package checkresults is the check-results step: it streams Prowler's OCSF
// output from S3, turns each finding into a result per matched asset,
// compares the scan with the previous one and writes only what changed
// (current results, history entries), emits an EventBridge event per
// regression, and records the scan's compact digest.
//
// It reads the file twice at most. Pass 1 validates every finding and keeps
// 28 bytes per result (check, asset, status, content hash, position); the
// results are then sorted and merged with the previous scan's digest. Pass 2
// runs only when something changed and re-reads the file to build the
// changed results in full. An unchanged rescan therefore reads the file and
// the previous digest once and writes its own digest (21 bytes a result).
package checkresults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/ocsf"
)

// Event source and detail type of a regression.
const (
	EventSource     = "citadel"
	EventRegression = "Check Regressed"
)

// ProblemsFileName is the report of bad findings and skipped resources,
// next to the OCSF file: one JSON object a line.
const ProblemsFileName = "check-results.problems.jsonl"

// MaxProblemsReported bounds the report; the counts stay exact.
const MaxProblemsReported = 10000

// Store is what the step needs of the DynamoDB store.
type Store interface {
	PutResults(ctx context.Context, ws []ddb.ResultWrite) error
	ResultStates(ctx context.Context, ids []string) (map[string]ddb.ResultState, error)
	PutScanDigest(ctx context.Context, d ddb.ScanDigest, entries []ddb.DigestEntry) error
	GetScanDigest(ctx context.Context, scanID string) (ddb.ScanDigest, error)
	LatestScanDigest(ctx context.Context, integrationID string) (ddb.ScanDigest, error)
	DigestEntries(ctx context.Context, d ddb.ScanDigest, fn func(ddb.DigestEntry) error) error
	ListActiveAssets(ctx context.Context, integrationID string, limit int, cursor string) (ddb.Page[citadel.Asset], error)
	ListChecks(ctx context.Context) ([]citadel.SecurityCheck, error)
	PutScanProgress(ctx context.Context, scanID string, finding int) error
	ScanProgress(ctx context.Context, scanID string) (int, error)
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
	Store    Store
	S3       Objects
	Events   Events
	EventBus string // name or ARN; "" is the default bus
	Clock    citadel.Clock
	Log      *slog.Logger
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

// Problem is one entry of the problems report.
type Problem struct {
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

// RegressionDetail is the detail of a "Check Regressed" event. ID is the
// same for every delivery of one regression, for consumers to deduplicate.
type RegressionDetail struct {
	ID             string              `json:"id"`
	SecurityCheck  string              `json:"security_check"`
	Asset          string              `json:"asset"`
	AssetARN       string              `json:"asset_arn"`
	IntegrationID  string              `json:"integration_id"`
	ScanID         string              `json:"scan_id"`
	PreviousStatus citadel.CheckStatus `json:"previous_status"`
	Status         citadel.CheckStatus `json:"status"`
	Severity       string              `json:"severity,omitempty"`
	Region         string              `json:"region,omitempty"`
}

// entry is one result of the scan as pass 1 keeps it.
type entry struct {
	check   uint16 // index into run.checks (then into the digest's sorted checks)
	asset   [10]byte
	status  byte // ddb.PackStatus
	hash    [8]byte
	finding uint32 // index of the finding in the file
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
	h        *Handler
	plan     citadel.PlanOutput
	out      citadel.CheckResultsOutput
	known    map[string]bool     // catalog checks
	assets   map[[10]byte]string // active assets' packed id → ARN
	checks   []string            // check ids in first-seen order
	checkIdx map[string]uint16
	entries  []entry
	seen     map[[12]byte]int32 // (check, asset) → index in entries
	problems []Problem
	dropped  int
}

// Handle ingests the scan's OCSF output.
func (h *Handler) Handle(ctx context.Context, in citadel.CheckResultsInput) (citadel.CheckResultsOutput, error) {
	p := in.Plan
	if p.ScanID == "" || p.IntegrationID == "" || p.Bucket == "" {
		return citadel.CheckResultsOutput{}, citadel.Invalid("check-results: plan needs scan_id, integration_id and bucket")
	}
	if h.Clock == nil {
		h.Clock = citadel.SystemClock
	}
	if h.Log == nil {
		h.Log = slog.Default()
	}
	log := h.Log.With("step", citadel.StepCheckResults, "scan_id", p.ScanID, "integration_id", p.IntegrationID)
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
		return citadel.CheckResultsOutput{}, boundary(err)
	}

	r := &run{h: h, plan: p, checkIdx: map[string]uint16{}, seen: map[[12]byte]int32{}}
	out, err := r.do(ctx, log)
	out.Usage = h.Store.Usage().Sub(start)
	if err != nil {
		return out, boundary(err)
	}
	log.Info("results ingested", "results_created", out.ResultsCreated, "results_updated", out.ResultsUpdated,
		"results_unchanged", out.ResultsUnchanged, "history_entries_created", out.HistoryEntriesCreated,
		"regression_events", out.RegressionEvents, "arns_skipped", out.ARNsSkipped,
		"malformed_findings", out.MalformedFindings, "unknown_checks", out.UnknownChecks,
		"duplicate_findings", out.DuplicateFindings, "requests", out.Usage.Requests, "write_units", out.Usage.WriteUnits)
	return out, nil
}

// boundary returns a retryable error as the bare RetryableError, so the
// state machine matches it by type name.
func boundary(err error) error {
	var re *citadel.RetryableError
	if errors.As(err, &re) {
		return re
	}
	return err
}

func (r *run) ocsfKey() string {
	if r.plan.OCSFKey != "" {
		return r.plan.OCSFKey
	}
	return citadel.ScanObjectKey(r.plan.ScanID, citadel.OCSFFileName)
}

func (r *run) do(ctx context.Context, log *slog.Logger) (citadel.CheckResultsOutput, error) {
	manifest, err := r.manifest(ctx)
	if err != nil {
		return r.out, err
	}
	if err := r.loadCatalogAndAssets(ctx); err != nil {
		return r.out, err
	}

	// Pass 1.
	body, err := r.open(ctx)
	switch {
	case citadel.IsNotFound(err) && manifest != nil && (manifest.Empty || manifest.FindingCount == 0):
		log.Info("Prowler reported no findings and wrote no OCSF file")
	case err != nil:
		return r.out, err
	default:
		err = r.pass1(body)
		body.Close()
		if err != nil {
			return r.out, err
		}
	}
	if manifest != nil && len(manifest.ChecksExecuted) > 0 {
		r.out.ChecksExecuted = len(manifest.ChecksExecuted)
	} else {
		r.out.ChecksExecuted = len(r.checks)
	}

	sorted := r.sortEntries()
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

	// Commit: the digest makes this scan the base of the next one.
	outJSON, err := json.Marshal(r.out)
	if err != nil {
		return r.out, err
	}
	de := make([]ddb.DigestEntry, len(r.entries))
	for i, e := range r.entries {
		de[i] = ddb.DigestEntry{Check: e.check, Asset: e.asset, Status: e.status, Hash: e.hash}
	}
	d := ddb.ScanDigest{IntegrationID: r.plan.IntegrationID, ScanID: r.plan.ScanID, PreviousScanID: base.scanID,
		Checks: sorted, Output: outJSON, CreatedAt: r.h.Clock()}
	if err := r.h.Store.PutScanDigest(ctx, d, de); err != nil {
		return r.out, err
	}
	return r.out, nil
}

func (r *run) manifest(ctx context.Context) (*citadel.ProwlerManifest, error) {
	key := citadel.ScanObjectKey(r.plan.ScanID, citadel.ManifestName)
	body, err := r.get(ctx, key)
	if citadel.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var m citadel.ProwlerManifest
	if err := json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&m); err != nil {
		return nil, citadel.Invalid("manifest s3://%s/%s is not a Prowler manifest: %v", r.plan.Bucket, key, err)
	}
	return &m, nil
}

func (r *run) get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := r.h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.plan.Bucket), Key: aws.String(key)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, citadel.NotFound("s3://%s/%s not found", r.plan.Bucket, key)
	}
	if err != nil {
		return nil, citadel.Retryable(fmt.Errorf("get s3://%s/%s: %w", r.plan.Bucket, key, err))
	}
	return out.Body, nil
}

func (r *run) open(ctx context.Context) (io.ReadCloser, error) { return r.get(ctx, r.ocsfKey()) }

func (r *run) loadCatalogAndAssets(ctx context.Context) error {
	checks, err := r.h.Store.ListChecks(ctx)
	if err != nil {
		return fmt.Errorf("check-results: catalog: %w", err)
	}
	r.known = make(map[string]bool, len(checks))
	for _, c := range checks {
		r.known[c.ID] = true
	}
	r.assets = map[[10]byte]string{}
	cursor := ""
	for {
		page, err := r.h.Store.ListActiveAssets(ctx, r.plan.IntegrationID, 1000, cursor)
		if err != nil {
			return fmt.Errorf("check-results: assets: %w", err)
		}
		for _, a := range page.Items {
			if id, ok := ddb.ParseAssetID(citadel.AssetID(r.plan.IntegrationID, citadel.SourceAWS, a.SourceID)); ok {
				r.assets[id] = a.SourceID
			}
		}
		if page.Next == "" {
			return nil
		}
		cursor = page.Next
	}
}

func (r *run) problem(p Problem) {
	if len(r.problems) >= MaxProblemsReported {
		r.dropped++
		return
	}
	r.problems = append(r.problems, p)
}

func (r *run) reader(body io.Reader) *ocsf.Reader {
	var opts []ocsf.Option
	if r.h.MaxFindingBytes > 0 {
		opts = append(opts, ocsf.WithMaxFindingBytes(r.h.MaxFindingBytes))
	}
	return ocsf.NewReader(body, opts...)
}

// statusRank orders statuses for duplicates: the worst wins.
func statusRank(b byte) int {
	st, _ := ddb.UnpackStatus(b)
	switch st {
	case citadel.StatusFail:
		return 4
	case citadel.StatusError:
		return 3
	case citadel.StatusPass:
		return 2
	}
	return 1
}

func (r *run) pass1(body io.Reader) error {
	rd := r.reader(body)
	for {
		f, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		var p *ocsf.Problem
		if errors.As(err, &p) {
			if p.Kind != ocsf.KindTrailingData {
				r.out.MalformedFindings++
			}
			r.problem(Problem{Index: p.Index, Offset: p.Offset, Kind: string(p.Kind), Message: p.Message})
			continue
		}
		if err != nil {
			return citadel.Retryable(fmt.Errorf("read s3://%s/%s: %w", r.plan.Bucket, r.ocsfKey(), err))
		}
		if f.Index > 1<<31 {
			return citadel.Invalid("OCSF file has over 2^31 findings")
		}
		r.finding(f)
	}
}

func (r *run) finding(f ocsf.Finding) {
	if !r.known[f.CheckID] {
		r.out.UnknownChecks++
		r.problem(Problem{Index: f.Index, Offset: f.Offset, Kind: KindUnknownCheck, Check: f.CheckID,
			Message: "the check is not in the catalog"})
		return
	}
	ci, ok := r.checkIdx[f.CheckID]
	if !ok {
		if len(r.checks) >= 1<<16-1 {
			r.out.MalformedFindings++
			r.problem(Problem{Index: f.Index, Offset: f.Offset, Kind: KindUnknownCheck, Check: f.CheckID, Message: "over 65,535 distinct checks in one file"})
			return
		}
		ci = uint16(len(r.checks))
		r.checks = append(r.checks, f.CheckID)
		r.checkIdx[f.CheckID] = ci
	}
	status := citadel.StatusFromProwler(f.StatusCode)
	for j, res := range f.Resources {
		skip := func(kind, msg string) {
			r.out.ARNsSkipped++
			r.problem(Problem{Index: f.Index, Offset: f.Offset, Kind: kind, Check: f.CheckID, UID: res.UID, Message: msg})
		}
		account, isARN := arnAccount(res.UID)
		if !isARN {
			skip(KindNotARN, "resources[].uid is not an ARN")
			continue
		}
		if account != "" && r.plan.AccountID != "" && account != r.plan.AccountID {
			skip(KindForeignAccount, "the ARN is in account "+account+", not the integration's "+r.plan.AccountID)
			continue
		}
		aid := citadel.AssetID(r.plan.IntegrationID, citadel.SourceAWS, res.UID)
		asset, _ := ddb.ParseAssetID(aid)
		if _, ok := r.assets[asset]; !ok {
			skip(KindUnknownAsset, "no active asset of the integration has this ARN")
			continue
		}
		e := entry{check: ci, asset: asset, status: ddb.PackStatus(status, f.Muted()),
			hash: contentHash(status, f, res), finding: uint32(f.Index), res: uint16(j), snap: len(res.Data) > 0}
		var k [12]byte
		k[0], k[1] = byte(ci>>8), byte(ci)
		copy(k[2:], asset[:])
		if i, dup := r.seen[k]; dup {
			r.out.DuplicateFindings++
			r.problem(Problem{Index: f.Index, Offset: f.Offset, Kind: KindDuplicate, Check: f.CheckID, UID: res.UID,
				Message: fmt.Sprintf("the file already has a result of this check on this resource (finding %d); the worse status is kept", r.entries[i].finding)})
			if statusRank(e.status) > statusRank(r.entries[i].status) {
				r.entries[i] = e
			}
			continue
		}
		r.seen[k] = int32(len(r.entries))
		r.entries = append(r.entries, e)
	}
}

// arnAccount returns the account of an ARN (arn:partition:service:region:account:resource).
func arnAccount(s string) (string, bool) {
	if !strings.HasPrefix(s, "arn:") {
		return "", false
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return "", false
	}
	return parts[4], true
}

// contentHash identifies what a result says, leaving out what changes on
// every run (finding times, uids): a rescan rewrites a result only when it
// differs.
func contentHash(st citadel.CheckStatus, f ocsf.Finding, res ocsf.Resource) [8]byte {
	h := sha256.New()
	for _, s := range []string{string(st), fmt.Sprint(f.Muted()), f.StatusDetail, f.Severity, f.Region, res.Region, res.UID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(res.Data)
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}

// sortEntries sorts the results by (check, asset), renumbers the checks
// into the sorted list the digest keeps, and counts statuses.
func (r *run) sortEntries() []string {
	sorted := append([]string(nil), r.checks...)
	sort.Strings(sorted)
	pos := map[string]uint16{}
	for i, c := range sorted {
		pos[c] = uint16(i)
	}
	remap := make([]uint16, len(r.checks))
	for i, c := range r.checks {
		remap[i] = pos[c]
	}
	for i := range r.entries {
		e := &r.entries[i]
		e.check = remap[e.check]
		st, _ := ddb.UnpackStatus(e.status)
		switch st {
		case citadel.StatusPass:
			r.out.ChecksPassed++
		case citadel.StatusFail:
			r.out.ChecksFailed++
		case citadel.StatusError:
			r.out.ChecksError++
		case citadel.StatusNotApplicable:
			r.out.ChecksNotApplicable++
		}
		if e.snap {
			r.out.SnapshotsCaptured++
		} else {
			r.out.SnapshotsFailed++
		}
	}
	r.seen = nil
	sort.Slice(r.entries, func(i, j int) bool {
		a, b := r.entries[i], r.entries[j]
		if a.check != b.check {
			return a.check < b.check
		}
		return string(a.asset[:]) < string(b.asset[:])
	})
	r.checks = sorted
	return sorted
}

type comparison struct {
	scanID  string
	changes []change
}

// compare merges the scan's sorted results with the previous digest and
// decides, per result, created, updated (and whether the status changed)
// or unchanged. Results the previous digest lacks are looked up in the
// store, unless the integration never had a digest (its first scan).
func (r *run) compare(ctx context.Context, sorted []string) (comparison, error) {
	var c comparison
	const (
		notInBase = iota
		sameAsBase
		changedFromBase
	)
	match := make([]uint8, len(r.entries))
	baseStatus := make([]byte, len(r.entries))
	lookup := true
	base, err := r.h.Store.LatestScanDigest(ctx, r.plan.IntegrationID)
	switch {
	case citadel.IsNotFound(err):
		lookup = false
	case errors.Is(err, ddb.ErrDigestExpired):
	case err != nil:
		return c, err
	default:
		c.scanID = base.ScanID
		i := 0
		err := r.h.Store.DigestEntries(ctx, base, func(b ddb.DigestEntry) error {
			bc := base.Checks[b.Check]
			for i < len(r.entries) {
				e := r.entries[i]
				ec := sorted[e.check]
				if ec < bc || ec == bc && string(e.asset[:]) < string(b.Asset[:]) {
					i++
					continue
				}
				if ec == bc && e.asset == b.Asset {
					match[i], baseStatus[i] = changedFromBase, b.Status
					if e.hash == b.Hash && e.status == b.Status {
						match[i] = sameAsBase
					}
					i++
				}
				return nil
			}
			return nil
		})
		if errors.Is(err, ddb.ErrDigestExpired) {
			clear(match)
		} else if err != nil {
			return c, err
		}
	}

	// Look up the results the base does not hold.
	var missing []int
	for i := range r.entries {
		if match[i] == notInBase && lookup {
			missing = append(missing, i)
		}
	}
	states := map[int]ddb.ResultState{}
	for len(missing) > 0 {
		n := min(len(missing), 1000)
		ids := make([]string, n)
		for k, i := range missing[:n] {
			ids[k] = r.resultID(r.entries[i])
		}
		got, err := r.h.Store.ResultStates(ctx, ids)
		if err != nil {
			return c, err
		}
		for k, i := range missing[:n] {
			if st, ok := got[ids[k]]; ok {
				states[i] = st
			}
		}
		missing = missing[n:]
	}

	for i, e := range r.entries {
		status, muted := ddb.UnpackStatus(e.status)
		ch := change{finding: e.finding, res: e.res}
		switch match[i] {
		case sameAsBase:
			r.out.ResultsUnchanged++
			continue
		case changedFromBase:
			ch.kind, ch.hadPrev = updated, true
			ch.prev, _ = ddb.UnpackStatus(baseStatus[i])
		default:
			st, ok := states[i]
			switch {
			case !ok:
				ch.kind = created
			case st.ScanID == r.plan.ScanID:
				// Written by an earlier, interrupted run of this scan:
				// decide as that run did.
				ch.kind, ch.prev, ch.hadPrev = created, st.PreviousStatus, st.HadPrevious
				if st.HadPrevious {
					ch.kind = updated
				}
			case st.ContentHash == hex.EncodeToString(e.hash[:]):
				r.out.ResultsUnchanged++
				continue
			default:
				ch.kind, ch.prev, ch.hadPrev = updated, st.Status, true
			}
		}
		if ch.kind == created {
			r.out.ResultsCreated++
		} else {
			r.out.ResultsUpdated++
		}
		ch.history = !ch.hadPrev || ch.prev != status
		if ch.history {
			r.out.HistoryEntriesCreated++
			h := citadel.CheckResultHistory{PreviousStatus: ch.prev, NewStatus: status}
			if h.IsRegression() && !muted {
				r.out.RegressionEvents++
				ch.regress = true
			}
		}
		c.changes = append(c.changes, ch)
	}
	sort.Slice(c.changes, func(i, j int) bool {
		a, b := c.changes[i], c.changes[j]
		return a.finding < b.finding || a.finding == b.finding && a.res < b.res
	})
	return c, nil
}

func (r *run) resultID(e entry) string {
	return citadel.ResultID(r.plan.IntegrationID, r.checks[e.check], hex.EncodeToString(e.asset[:]))
}

// pass2 re-reads the file and writes the changed results, their history
// and the regression events, a segment at a time: after each segment it
// records its progress, and stops when the invocation runs short of time.
func (r *run) pass2(ctx context.Context, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	done, err := r.h.Store.ScanProgress(ctx, r.plan.ScanID)
	if err != nil {
		return err
	}
	changes = changes[sort.Search(len(changes), func(i int) bool { return changes[i].finding >= uint32(done) }):]
	if len(changes) == 0 {
		return nil
	}
	body, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	rd := r.reader(body)
	size := r.h.SegmentResults
	if size <= 0 {
		size = 5000
	}
	margin := r.h.Margin
	if margin <= 0 {
		margin = 2 * time.Minute
	}
	for len(changes) > 0 {
		n := min(size, len(changes))
		for n < len(changes) && changes[n].finding == changes[n-1].finding {
			n++ // a finding's results stay in one segment
		}
		if err := r.segment(ctx, rd, changes[:n]); err != nil {
			return err
		}
		changes = changes[n:]
		if len(changes) == 0 {
			return nil // the digest, written next, is the commit
		}
		if err := r.h.Store.PutScanProgress(ctx, r.plan.ScanID, int(changes[0].finding)); err != nil {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < margin {
			return citadel.Retryable(fmt.Errorf("check-results: scan %s stopped before finding %d: %w", r.plan.ScanID, changes[0].finding, ErrOutOfTime))
		}
	}
	return nil
}

// segment writes one segment's changes with concurrent writers and event
// senders, and returns when all of them are stored and sent.
func (r *run) segment(ctx context.Context, rd *ocsf.Reader, changes []change) error {
	writers := r.h.Writers
	if writers <= 0 {
		writers = 8
	}
	g, gctx := errgroup.WithContext(ctx)
	writes := make(chan []ddb.ResultWrite, writers)
	events := make(chan []ebtypes.PutEventsRequestEntry, 4)
	for w := 0; w < writers; w++ {
		g.Go(func() error {
			for batch := range writes {
				if err := r.h.Store.PutResults(gctx, batch); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var mu sync.Mutex
	sent := 0
	for w := 0; w < 4; w++ {
		g.Go(func() error {
			for batch := range events {
				if err := r.h.putEvents(gctx, batch); err != nil {
					return err
				}
				mu.Lock()
				sent += len(batch)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(writes)
		defer close(events)
		return r.produce(gctx, rd, changes, writes, events)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	want := 0
	for _, ch := range changes {
		if ch.regress {
			want++
		}
	}
	if sent != want {
		return fmt.Errorf("check-results: sent %d regression events, decided %d", sent, want)
	}
	return nil
}

func (r *run) produce(ctx context.Context, rd *ocsf.Reader, changes []change, writes chan<- []ddb.ResultWrite, events chan<- []ebtypes.PutEventsRequestEntry) error {
	now := r.h.Clock()
	var batch []ddb.ResultWrite
	var evs []ebtypes.PutEventsRequestEntry
	send := func(force bool) error {
		if len(batch) >= 25 || force && len(batch) > 0 {
			select {
			case writes <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = nil
		}
		if len(evs) >= 10 || force && len(evs) > 0 {
			select {
			case events <- evs:
			case <-ctx.Done():
				return ctx.Err()
			}
			evs = nil
		}
		return nil
	}
	k := 0
	for k < len(changes) {
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		var p *ocsf.Problem
		if errors.As(err, &p) {
			if p.Index >= 0 && uint32(p.Index) == changes[k].finding {
				return fmt.Errorf("check-results: finding %d read in the first pass fails in the second: %v", p.Index, p)
			}
			continue
		}
		if err != nil {
			return citadel.Retryable(fmt.Errorf("read s3://%s/%s: %w", r.plan.Bucket, r.ocsfKey(), err))
		}
		for k < len(changes) && changes[k].finding == uint32(f.Index) {
			w, ev := r.build(f, changes[k], now)
			batch = append(batch, w)
			if ev != nil {
				evs = append(evs, *ev)
			}
			if err := send(false); err != nil {
				return err
			}
			k++
		}
	}
	if k < len(changes) {
		return fmt.Errorf("check-results: the second pass ended before finding %d", changes[k].finding)
	}
	return send(true)
}

func (r *run) build(f ocsf.Finding, ch change, now time.Time) (ddb.ResultWrite, *ebtypes.PutEventsRequestEntry) {
	res := f.Resources[ch.res]
	status := citadel.StatusFromProwler(f.StatusCode)
	hash := contentHash(status, f, res)
	region := res.Region
	if region == "" {
		region = f.Region
	}
	result := citadel.CheckResult{
		IntegrationID: r.plan.IntegrationID, CheckID: f.CheckID,
		AssetID: citadel.AssetID(r.plan.IntegrationID, citadel.SourceAWS, res.UID), AssetARN: res.UID,
		ScanID: r.plan.ScanID, Status: status, Muted: f.Muted(), StatusExtended: f.StatusDetail,
		Severity: citadel.Severity(strings.ToLower(f.Severity)), Region: region,
		RawOutput: f.Raw, ResourceSnapshot: res.Data, ContentHash: hex.EncodeToString(hash[:]),
		ScannedAt: now, FirstScanID: r.plan.ScanID,
	}
	w := ddb.ResultWrite{Result: result, PreviousStatus: ch.prev, HadPrevious: ch.hadPrev}
	if !ch.history {
		return w, nil
	}
	h := citadel.CheckResultHistory{IntegrationID: result.IntegrationID, CheckID: result.CheckID, AssetID: result.AssetID,
		ScanID: r.plan.ScanID, PreviousStatus: ch.prev, NewStatus: status, ChangedAt: now}
	w.History = &h
	if !h.IsRegression() || result.Muted {
		return w, nil
	}
	detail, _ := json.Marshal(RegressionDetail{
		ID:            r.plan.ScanID + "/" + citadel.ResultID(result.IntegrationID, result.CheckID, result.AssetID),
		SecurityCheck: result.CheckID, Asset: result.AssetID, AssetARN: result.AssetARN,
		IntegrationID: result.IntegrationID, ScanID: r.plan.ScanID, PreviousStatus: ch.prev, Status: status,
		Severity: string(result.Severity), Region: region,
	})
	ev := &ebtypes.PutEventsRequestEntry{
		Source: aws.String(EventSource), DetailType: aws.String(EventRegression), Detail: aws.String(string(detail)), Time: aws.Time(now),
	}
	if r.h.EventBus != "" {
		ev.EventBusName = aws.String(r.h.EventBus)
	}
	return w, ev
}

// putEvents sends one batch of at most 10, retrying entries EventBridge
// reports as failed.
func (h *Handler) putEvents(ctx context.Context, batch []ebtypes.PutEventsRequestEntry) error {
	if h.Events == nil {
		return errors.New("check-results: regressions to report but no EventBridge client")
	}
	for attempt := 0; ; attempt++ {
		out, err := h.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil {
			return citadel.Retryable(fmt.Errorf("put %d events: %w", len(batch), err))
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		var failed []ebtypes.PutEventsRequestEntry
		var reason string
		for i, e := range out.Entries {
			if e.ErrorCode != nil && i < len(batch) {
				failed = append(failed, batch[i])
				reason = aws.ToString(e.ErrorCode) + ": " + aws.ToString(e.ErrorMessage)
			}
		}
		if attempt >= 4 || len(failed) == 0 {
			return citadel.Retryable(fmt.Errorf("put events: %d of %d failed: %s", out.FailedEntryCount, len(batch), reason))
		}
		select {
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = failed
	}
}

// report writes the problems report next to the OCSF file and logs the
// first problems.
func (r *run) report(ctx context.Context, log *slog.Logger) error {
	if len(r.problems) == 0 {
		return nil
	}
	for _, p := range r.problems[:min(len(r.problems), 20)] {
		log.Warn("finding skipped", "index", p.Index, "offset", p.Offset, "kind", p.Kind, "check", p.Check, "uid", p.UID, "message", p.Message)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, p := range r.problems {
		_ = enc.Encode(p)
	}
	if r.dropped > 0 {
		_ = enc.Encode(Problem{Index: -1, Kind: "report_truncated", Message: fmt.Sprintf("%d more problems not listed", r.dropped)})
	}
	key := citadel.ScanObjectKey(r.plan.ScanID, ProblemsFileName)
	_, err := r.h.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.plan.Bucket), Key: aws.String(key),
		Body: strings.NewReader(b.String()), ContentType: aws.String("application/x-ndjson")})
	if err != nil {
		return citadel.Retryable(fmt.Errorf("put s3://%s/%s: %w", r.plan.Bucket, key, err))
	}
	r.out.ProblemsKey = key
	return nil
}
