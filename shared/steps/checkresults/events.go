package checkresults

import (
	"context"
	"fmt"

	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/citadelsecure/citadel/shared/busevents"
)

// This file sends the regression events to EventBridge (shared/busevents
// builds and puts them).

// putEvents sends one batch of at most 10, retrying entries EventBridge
// reports as failed.
func (h *Handler) putEvents(ctx context.Context, batch []ebtypes.PutEventsRequestEntry) error {
	if h.Events == nil {
		return fmt.Errorf("check-results: regressions to report but no EventBridge client")
	}
	return busevents.Put(ctx, h.Events, batch)
}
