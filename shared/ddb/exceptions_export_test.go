package ddb

import (
	"context"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// WriteDecision is writeDecision: the test hook for a decision made on a
// stale read (another decision was written in between).
func (s *Store) WriteDecision(ctx context.Context, prev, next citadel.Exception) error {
	return s.writeDecision(ctx, prev, next)
}
