package ddb

import (
	"context"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file is the progress of a long check-results run: SCAN#<scan id> /
// PROGRESS, the finding index before which every change is written.

// ProgressRetention is how long a scan's progress marker is kept.
const ProgressRetention = 7 * 24 * time.Hour

type progressItem struct {
	item
	ScanID  string
	Finding int
}

// PutScanProgress records that every change of a scan before finding index
// `finding` is written (results, history and events), so a run that ran
// out of time resumes there.
func (s *Store) PutScanProgress(ctx context.Context, scanID string, finding int) error {
	it := progressItem{newItem(TypeScanDigest, scanProgressKey(scanID)), scanID, finding}
	it.ExpiresAt = s.clock().Add(ProgressRetention).Unix()
	return s.put(ctx, it, "")
}

// ScanProgress returns the recorded progress of a scan, 0 when none.
func (s *Store) ScanProgress(ctx context.Context, scanID string) (int, error) {
	var it progressItem
	err := s.get(ctx, scanProgressKey(scanID), &it, "progress of scan "+scanID)
	if citadel.IsNotFound(err) {
		return 0, nil
	}
	return it.Finding, err
}
