// Package orgscan is an organization's scan around its members' (the
// organization state machine; citadel's orgscan.go has the data):
//
//   - org-plan (Planner) records the organization scan running with its
//     execution's ARN: the API recorded it queued with the organization
//     integration's lock, a schedule's run is recorded here (taking the
//     lock), as the account scan's plan step does;
//   - after org-sync, for each member the Map's org-member (Starter)
//     starts the member's scan as the API would (a scan record queued, with
//     trigger organization and the organization scan as its parent, and the
//     member's lock through scanend.Locks) and returns the child
//     execution's input; a member already scanning is skipped, not failed;
//     the organization's own account (in its scope, it has no member) is
//     scanned under the organization scan's own lock;
//   - org-summary (Summarizer) reads each member scan's record by its key,
//     rolls their summaries and outcomes up onto the organization scan
//     (citadel.OrgScanSummary: counts, the failed and skipped accounts),
//     ends a member scan whose execution never ran or ended unseen, records
//     the organization scan succeeded or failed (its own states' error) and
//     releases its lock.
//
// Every handler is safe to run twice: the member scan's id derives from
// the organization scan's and the member's, starts and finishes are
// conditional.
package orgscan

import (
	"context"
	"fmt"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
)

// Store is what the organization scan needs of the table (*ddb.Store).
type Store interface {
	scanend.Store
	GetIntegration(ctx context.Context, id string) (citadel.Integration, error)
	GetIntegrationRecord(ctx context.Context, id string) (citadel.Integration, time.Time, error)
	GetScanOf(ctx context.Context, integrationID, scanID string) (citadel.Scan, error)
	MarkScanRunning(ctx context.Context, integrationID, scanID, executionARN string) (citadel.Scan, error)
	Usage() citadel.Usage
}

// fail wraps err with context; a retryable cause stays retryable in the
// chain (the step contract returns it as the type the state machine
// retries on), a domain error keeps its code.
func fail(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
