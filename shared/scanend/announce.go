package scanend

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// EventPutter is what announcing a scan's end needs of EventBridge.
type EventPutter interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// ScanEndedDetail is the detail of a "Scan Succeeded" or "Scan Failed"
// event (citadel.EventScanSucceeded, citadel.EventScanFailed). ID is the
// scan's id: a scan ends once, so every delivery of its end has the same
// ID, for consumers to deduplicate.
type ScanEndedDetail struct {
	ID            string              `json:"id"`
	ScanID        string              `json:"scan_id"`
	IntegrationID string              `json:"integration_id"`
	FolderID      string              `json:"folder_id,omitempty"`
	Trigger       citadel.ScanTrigger `json:"trigger,omitempty"`
	// Status is succeeded, failed, timed_out or cancelled.
	Status       citadel.ScanStatus `json:"status"`
	FailureCause string             `json:"failure_cause,omitempty"`
	CancelledBy  string             `json:"cancelled_by,omitempty"`
	StartedAt    time.Time          `json:"started_at,omitzero"`
	FinishedAt   time.Time          `json:"finished_at,omitzero"`
	// From the summary, when the scan got that far.
	Message         string  `json:"message,omitempty"`
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
	ChecksExecuted  int     `json:"checks_executed"`
	ChecksPassed    int     `json:"checks_passed"`
	ChecksFailed    int     `json:"checks_failed"`
	ChecksExcepted  int     `json:"checks_excepted"`
}

// EndedDetailType is the detail type of the event announcing sc's end.
func EndedDetailType(sc citadel.Scan) string {
	if sc.Status == citadel.ScanSucceeded {
		return citadel.EventScanSucceeded
	}
	return citadel.EventScanFailed
}

// EndedEvent is the event announcing the end of sc on bus ("" is the
// account's default bus). The execution's ARN, when known, is its resource.
func EndedEvent(sc citadel.Scan, bus string) ebtypes.PutEventsRequestEntry {
	d := ScanEndedDetail{
		ID: sc.ID, ScanID: sc.ID, IntegrationID: sc.IntegrationID, FolderID: sc.FolderID, Trigger: sc.Trigger,
		Status: sc.Status, FailureCause: sc.FailureCause, CancelledBy: sc.CancelledBy,
		StartedAt: sc.StartedAt, FinishedAt: sc.FinishedAt,
	}
	if s := sc.Summary; s != nil {
		d.Message, d.DurationSeconds = s.Message, s.DurationSeconds
		d.ChecksExecuted, d.ChecksPassed, d.ChecksFailed, d.ChecksExcepted = s.ChecksExecuted, s.ChecksPassed, s.ChecksFailed, s.ChecksExcepted
	}
	detail, _ := json.Marshal(d)
	e := ebtypes.PutEventsRequestEntry{
		Source: aws.String(citadel.EventSource), DetailType: aws.String(EndedDetailType(sc)),
		Detail: aws.String(string(detail)), Resources: []string{},
	}
	if sc.ExecutionARN != "" {
		e.Resources = []string{sc.ExecutionARN}
	}
	if !sc.FinishedAt.IsZero() {
		e.Time = aws.Time(sc.FinishedAt)
	}
	if bus != "" {
		e.EventBusName = aws.String(bus)
	}
	return e
}

// Announcer puts the event of a scan's end on the drift bus. Whoever ends a
// scan (finalize, the reconciler, a cancel, a lock take-over) calls Ended
// with the scan as stored, once it has ended it. A nil Announcer, or one
// without Events, announces nothing.
//
// The announcement is best effort: the scan's record is the truth, and an
// end is never undone because its event could not be sent. The SDK retries
// transient errors; what still fails is logged at error level with the
// scan's id.
type Announcer struct {
	Events EventPutter
	// Bus is the bus's name (citadel.EnvEventBus); "" is the default bus.
	Bus string
	Log *slog.Logger
}

// Ended announces the end of sc. A scan that has not ended is not announced.
func (a *Announcer) Ended(ctx context.Context, sc citadel.Scan) {
	if a == nil || a.Events == nil || !sc.Status.Ended() {
		return
	}
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	entry := EndedEvent(sc, a.Bus)
	if err := a.put(ctx, entry); err != nil {
		log.ErrorContext(ctx, "scan end not announced", "scan_id", sc.ID, "integration_id", sc.IntegrationID,
			"status", sc.Status, "detail_type", aws.ToString(entry.DetailType), "event_bus", a.Bus, "error", err.Error())
		return
	}
	log.InfoContext(ctx, "scan end announced", "scan_id", sc.ID, "status", sc.Status, "detail_type", aws.ToString(entry.DetailType))
}

// Put puts another of Citadel's events (shared/busevents builds them, on
// a.Bus) with the Announcer's client; a nil Announcer, or one without
// Events, puts nothing. The caller decides what a failure means.
func (a *Announcer) Put(ctx context.Context, entry ebtypes.PutEventsRequestEntry) error {
	if a == nil || a.Events == nil {
		return nil
	}
	return a.put(ctx, entry)
}

func (a *Announcer) put(ctx context.Context, entry ebtypes.PutEventsRequestEntry) error {
	out, err := a.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry}})
	if err != nil {
		return fmt.Errorf("put event %s: %w", aws.ToString(entry.DetailType), err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		e := out.Entries[0]
		return fmt.Errorf("put event %s: %s: %s", aws.ToString(entry.DetailType), aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return nil
}
