// Package recheck is the re-check buffer: the change events a target
// account forwards (CloudTrail management writes of the services Citadel
// re-checks, citadel.ChangeEventSources) reach an SQS queue, which hands
// them to this function in batches gathered over a window (the event
// source's batching window, infra). One batch becomes at most one scan per
// integration, however many events it holds:
//
//   - each event's changed resources are read as the ARNs the inventory
//     stores (inventory.ChangedARNs); a read-only or failed call, or one that
//     names nothing Citadel re-checks, is ignored, and an event that is not a
//     forwarded CloudTrail call is logged whole and dropped (it can never
//     succeed, so retrying it would only delay the queue);
//   - the event's account gives its integrations (ddb's claims by account);
//     an organization integration is left to its scans (its members have
//     integrations of their own);
//   - per integration, the union of the ARNs becomes one re-check (trigger
//     change, citadel.Recheck: the RecheckFile in S3, under the scan's
//     objects), or a full scan of trigger change when it names more than
//     citadel.MaxRecheckResources;
//   - the scan takes the integration's lock (scanend.Locks.Start, as the
//     API's start does). When another scan holds it, a re-check never
//     interleaves with it: a full scan created after the last of the events
//     sees every change they made, so they are folded into it (dropped);
//     otherwise (a full scan that started before a change, or another
//     re-check) the events are returned to the queue (SQS batch item
//     failures) and come back after its visibility timeout, coalesced with
//     whatever arrived meanwhile.
//
// A failure of one integration (the table, S3, Step Functions) returns only
// its events; a scan whose execution could not start is ended failed, its
// lock released, as the API does.
package recheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the buffer needs of the table (*ddb.Store).
type Store interface {
	IntegrationsOfAccount(ctx context.Context, account string) ([]string, error)
	GetIntegration(ctx context.Context, id string) (citadel.Integration, error)
	RunningScan(ctx context.Context, integrationID string) (citadel.Scan, error)
	FinishScan(ctx context.Context, sc citadel.Scan) (citadel.Scan, error)
	Usage() citadel.Usage
}

// Locks takes an integration's scan lock (*scanend.Locks).
type Locks interface {
	Start(ctx context.Context, sc citadel.Scan) error
}

// S3API writes a re-check's resources file.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Executions starts the scan state machine.
type Executions interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Handler is the re-check buffer.
type Handler struct {
	stepfn.Env
	Store           Store
	Locks           Locks
	S3              S3API
	Bucket          string
	Executions      Executions
	StateMachineARN string
	// NewID makes scan ids (citadel.NewID when nil).
	NewID func(prefix string, at time.Time) string
}

// Outcome is what one batch came to, for the logs and the tests.
type Outcome struct {
	Events    int `json:"events"`
	Malformed int `json:"malformed"`
	Ignored   int `json:"ignored"`
	// Rechecks and FullScans are the scans started, Folded the
	// integrations whose events a running full scan covers, Waiting those
	// whose events went back to the queue.
	Rechecks  int      `json:"rechecks"`
	FullScans int      `json:"full_scans"`
	Folded    int      `json:"folded"`
	Waiting   int      `json:"waiting"`
	ScanIDs   []string `json:"scan_ids,omitempty"`
	Failures  []string `json:"failures,omitempty"` // message ids returned to the queue
	// Err is the first error that returned messages (nil when only
	// waiting returned them).
	Err error `json:"-"`
}

// pending is what a batch holds for one integration.
type pending struct {
	integ       citadel.Integration
	arns        []string
	messages    []string
	events      int
	first, last time.Time
	unsupported bool
}

// Handle turns one batch of queued change events into scans.
func (h *Handler) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	out := h.Run(ctx, batch)
	if out.Err != nil && len(out.Failures) == len(batch.Records) && citadel.IsRetryable(out.Err) {
		// Nothing got through, for a reason that passes (throttling, an
		// unreachable service): the whole batch comes back, as it would
		// item by item, and the retry boundary names the retryable type.
		return events.SQSEventResponse{}, out.Err
	}
	resp := events.SQSEventResponse{}
	for _, id := range out.Failures {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp, nil
}

// Run is Handle with its outcome.
func (h *Handler) Run(ctx context.Context, batch events.SQSEvent) Outcome {
	out := Outcome{Events: len(batch.Records)}
	failed := map[string]bool{}
	failErr := func(err error) {
		if out.Err == nil {
			out.Err = err
		}
	}
	fail := func(ids []string) {
		for _, id := range ids {
			failed[id] = true
		}
	}
	byAccount := map[string][]change{}
	var accounts []string
	for _, m := range batch.Records {
		ev, err := inventory.ParseChangeEvent([]byte(m.Body))
		if err != nil {
			out.Malformed++
			h.Logger().ErrorContext(ctx, "change event dropped", "message_id", m.MessageId, "error", err.Error(), "body", clip(m.Body))
			continue
		}
		arns := inventory.ChangedARNs(ev)
		if !ev.Changes() || len(arns) == 0 {
			out.Ignored++
			continue
		}
		if _, ok := byAccount[ev.Account]; !ok {
			accounts = append(accounts, ev.Account)
		}
		byAccount[ev.Account] = append(byAccount[ev.Account], change{message: m.MessageId, at: ev.At(), arns: arns})
	}
	slices.Sort(accounts)
	var all []*pending
	for _, account := range accounts {
		changes := byAccount[account]
		found, err := h.integrations(ctx, account, changes)
		if err != nil {
			h.Logger().ErrorContext(ctx, "integrations of account", "account_id", account, "error", err.Error())
			failErr(fmt.Errorf("recheck: integrations of account %s: %w", account, err))
			fail(messagesOf(changes))
			continue
		}
		if len(found) == 0 {
			out.Ignored += len(changes)
			h.Logger().InfoContext(ctx, "change events of an account without an integration", "account_id", account, "events", len(changes))
		}
		all = append(all, found...)
	}
	for _, p := range all {
		id, full, err := h.start(ctx, p)
		switch {
		case errors.Is(err, errFolded):
			out.Folded++
		case errors.Is(err, errWaiting):
			out.Waiting++
			fail(p.messages)
		case err != nil:
			h.Logger().ErrorContext(ctx, "re-check not started", "integration_id", p.integ.ID, "events", p.events, "error", err.Error())
			failErr(fmt.Errorf("recheck: integration %s: %w", p.integ.ID, err))
			fail(p.messages)
		case full:
			out.FullScans++
			out.ScanIDs = append(out.ScanIDs, id)
		default:
			out.Rechecks++
			out.ScanIDs = append(out.ScanIDs, id)
		}
	}
	for _, m := range batch.Records {
		if failed[m.MessageId] {
			out.Failures = append(out.Failures, m.MessageId)
		}
	}
	h.Logger().InfoContext(ctx, "change events buffered", "events", out.Events, "malformed", out.Malformed, "ignored", out.Ignored,
		"rechecks", out.Rechecks, "full_scans", out.FullScans, "folded", out.Folded, "waiting", out.Waiting,
		"returned", len(out.Failures), "scan_ids", out.ScanIDs)
	return out
}

// change is one event's part of a batch.
type change struct {
	message string
	at      time.Time
	arns    []string
}

func messagesOf(cs []change) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.message
	}
	return ids
}

// integrations gathers an account's changes per integration of it.
func (h *Handler) integrations(ctx context.Context, account string, changes []change) ([]*pending, error) {
	ids, err := h.Store.IntegrationsOfAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	var out []*pending
	for _, id := range ids {
		integ, err := h.Store.GetIntegration(ctx, id)
		if citadel.IsNotFound(err) {
			continue // deleted since its claim was read
		}
		if err != nil {
			return nil, fmt.Errorf("integration %s: %w", id, err)
		}
		if integ.IsOrganization() {
			h.Logger().InfoContext(ctx, "change events of an organization's own account left to its scans",
				"integration_id", id, "events", len(changes))
			continue
		}
		p := &pending{integ: integ, events: len(changes), messages: messagesOf(changes)}
		for _, c := range changes {
			p.arns = append(p.arns, c.arns...)
			if p.first.IsZero() || c.at.Before(p.first) {
				p.first = c.at
			}
			if c.at.After(p.last) {
				p.last = c.at
			}
		}
		slices.Sort(p.arns)
		p.arns = slices.Compact(p.arns)
		out = append(out, p)
	}
	return out, nil
}

var (
	errFolded  = errors.New("folded into a running full scan")
	errWaiting = errors.New("waiting for the running scan")
)

// start starts p's scan: a re-check, or a full scan when it names too many
// resources. full reports which.
func (h *Handler) start(ctx context.Context, p *pending) (id string, full bool, err error) {
	now := h.Now()
	newID := h.NewID
	if newID == nil {
		newID = citadel.NewID
	}
	id = newID("scan", now)
	file := citadel.RecheckFile{IntegrationID: p.integ.ID, ARNs: p.arns, Services: citadel.RecheckServices(p.arns),
		Events: p.events, FirstEventAt: p.first, LastEventAt: p.last}
	sc := citadel.Scan{ID: id, IntegrationID: p.integ.ID, FolderID: p.integ.FolderID, Trigger: citadel.TriggerChange,
		Status: citadel.ScanQueued, CreatedAt: now}
	full = len(p.arns) > citadel.MaxRecheckResources
	if !full {
		rc := file.Recheck(citadel.ScanObjectKey(id, citadel.RecheckFileName))
		sc.Recheck = &rc
	}
	if err := h.Locks.Start(ctx, sc); err != nil {
		if !citadel.IsConflict(err) {
			return id, full, fmt.Errorf("take the lock of integration %s: %w", p.integ.ID, err)
		}
		return id, full, h.held(ctx, p)
	}
	if err := h.launch(ctx, sc, file); err != nil {
		failed := sc
		failed.Status, failed.FinishedAt = citadel.ScanFailed, h.Now()
		failed.FailureCause = "the re-check's execution could not start"
		if _, ferr := h.Store.FinishScan(ctx, failed); ferr != nil {
			err = errors.Join(err, fmt.Errorf("mark scan %s failed: %w", id, ferr))
		}
		return id, full, err
	}
	h.Logger().InfoContext(ctx, "re-check started", "scan_id", id, "integration_id", p.integ.ID, "full_scan", full,
		"resources", len(p.arns), "services", file.Services, "events", p.events, "first_event_at", p.first, "last_event_at", p.last)
	return id, full, nil
}

// held decides about events whose integration another scan holds.
func (h *Handler) held(ctx context.Context, p *pending) error {
	holder, err := h.Store.RunningScan(ctx, p.integ.ID)
	switch {
	case citadel.IsNotFound(err):
		return errWaiting // released in between: the events come back soon
	case err != nil:
		return fmt.Errorf("the scan holding integration %s: %w", p.integ.ID, err)
	case holder.Recheck == nil && !holder.CreatedAt.Before(p.last):
		h.Logger().InfoContext(ctx, "change events folded into a running full scan", "integration_id", p.integ.ID,
			"scan_id", holder.ID, "scan_created_at", holder.CreatedAt, "last_event_at", p.last, "events", p.events)
		return errFolded
	}
	h.Logger().InfoContext(ctx, "change events wait for the running scan", "integration_id", p.integ.ID,
		"scan_id", holder.ID, "recheck", holder.Recheck != nil, "events", p.events)
	return errWaiting
}

// launch writes a re-check's resources and starts its execution.
func (h *Handler) launch(ctx context.Context, sc citadel.Scan, file citadel.RecheckFile) error {
	start := citadel.StartScan{ScanID: sc.ID, IntegrationID: sc.IntegrationID, Trigger: citadel.TriggerChange, Recheck: sc.Recheck}
	if sc.Recheck != nil {
		b, err := json.Marshal(file)
		if err != nil {
			return fmt.Errorf("encode the re-check's resources: %w", err)
		}
		if _, err := h.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.Bucket), Key: aws.String(sc.Recheck.Key),
			Body: bytes.NewReader(b), ContentType: aws.String("application/json")}); err != nil {
			return citadel.Retryable(fmt.Errorf("put s3://%s/%s: %w", h.Bucket, sc.Recheck.Key, err))
		}
	}
	input, err := json.Marshal(citadel.PlanInput{Scan: start})
	if err != nil {
		return fmt.Errorf("encode execution input: %w", err)
	}
	if _, err := h.Executions.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(h.StateMachineARN), Name: aws.String(sc.ID), Input: aws.String(string(input)),
	}); err != nil {
		return citadel.Retryable(fmt.Errorf("start execution %s: %w", sc.ID, err))
	}
	return nil
}

// clip keeps a dropped event's body loggable.
func clip(s string) string {
	const max = 4096
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
