package checkresults

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file sends the regression events to EventBridge.

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
