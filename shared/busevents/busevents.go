// Package busevents builds the events Citadel puts on its bus
// (citadel.EnvEventBus) about results and exceptions, and puts them in
// batches: one builder per detail type, so every emitter (the check-results
// step, the API, the exception sweep) sends the same shape. The scans' end
// events are shared/scanend's. docs/notifications.md describes them.
package busevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Putter puts events (*eventbridge.Client).
type Putter interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// RegressionDetail is the detail of a "Check Regressed" event. ID is the
// same for every delivery of one regression, for consumers to deduplicate.
// The statuses are effective ones (citadel.EffectiveStatus): a failure no
// exception covers any more regresses from excepted. ScanID is the scan
// whose finding the result is; ExceptionID is set when no scan made the
// change (an exception revoked or expired).
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
	ExceptionID    string              `json:"exception_id,omitempty"`
}

// Regression is the "Check Regressed" event of result r (its effective
// status now) from prev, found at `at`; changeID names the change (a scan's
// or a remark's id) so that the detail's ID is the same for every delivery.
// exceptionID is the exception whose end made the change ("" for a scan).
// bus "" is the account's default bus.
func Regression(r citadel.CheckResult, changeID string, prev citadel.CheckStatus, exceptionID, bus string, at time.Time) ebtypes.PutEventsRequestEntry {
	detail, _ := json.Marshal(RegressionDetail{
		ID:            changeID + "/" + citadel.ResultID(r.IntegrationID, r.CheckID, r.AssetID),
		SecurityCheck: r.CheckID, Asset: r.AssetID, AssetARN: r.AssetARN,
		IntegrationID: r.IntegrationID, ScanID: r.ScanID, PreviousStatus: prev, Status: r.Effective(),
		Severity: string(r.Severity), Region: r.Region, ExceptionID: exceptionID,
	})
	return entry(citadel.EventCheckRegressed, detail, bus, at)
}

// ExceptionDetail is the detail of the exception events (citadel's
// EventException*): the exception as it is after the event. ID is the same
// for every delivery of one event: the exception's id and the event's kind
// (each happens once to an exception).
type ExceptionDetail struct {
	ID            string                  `json:"id"`
	ExceptionID   string                  `json:"exception_id"`
	FolderID      string                  `json:"folder_id"`
	IntegrationID string                  `json:"integration_id"`
	CheckID       string                  `json:"security_check"`
	Scope         citadel.ExceptionScope  `json:"scope"`
	Owner         string                  `json:"owner"`
	Status        citadel.ExceptionStatus `json:"status"`
	ExpiresAt     time.Time               `json:"expires_at"`
	By            string                  `json:"by,omitempty"` // who made the decision (approve, revoke), or citadel.ExceptionSweeper
}

// Exception is the event of kind detailType (citadel.EventException*)
// about e, as it is after it, at `at`.
func Exception(e citadel.Exception, detailType, bus string, at time.Time) ebtypes.PutEventsRequestEntry {
	d := ExceptionDetail{ID: e.ID + "/" + detailType, ExceptionID: e.ID, FolderID: e.FolderID, IntegrationID: e.IntegrationID,
		CheckID: e.CheckID, Scope: e.Scope, Owner: e.Owner, Status: e.Status, ExpiresAt: e.ExpiresAt}
	if n := len(e.History); n > 0 && e.History[n-1].To == e.Status && e.Status != citadel.ExceptionRequested {
		d.By = e.History[n-1].By
	}
	detail, _ := json.Marshal(d)
	return entry(detailType, detail, bus, at)
}

func entry(detailType string, detail []byte, bus string, at time.Time) ebtypes.PutEventsRequestEntry {
	e := ebtypes.PutEventsRequestEntry{Source: aws.String(citadel.EventSource), DetailType: aws.String(detailType),
		Detail: aws.String(string(detail)), Time: aws.Time(at)}
	if bus != "" {
		e.EventBusName = aws.String(bus)
	}
	return e
}

// Put sends one batch of at most 10 entries, retrying the entries
// EventBridge reports as failed (five attempts, backing off); what still
// fails is a retryable error.
func Put(ctx context.Context, p Putter, batch []ebtypes.PutEventsRequestEntry) error {
	if p == nil {
		return errors.New("events to put but no EventBridge client")
	}
	for attempt := 0; ; attempt++ {
		out, err := p.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
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
