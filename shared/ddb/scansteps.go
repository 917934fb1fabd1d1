package ddb

import (
	"context"
	"slices"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// scanStepItem is one step of a scan as the step contract records it, in
// the scan's own partition (beside its digest).
type scanStepItem struct {
	item
	citadel.StepProgress
}

// stepOrder is a step's place in its pipeline, a scan's or an
// organization scan's (99 for a step outside both).
func stepOrder(step string) int {
	if i := slices.Index(citadel.StepOrder, step); i >= 0 {
		return i
	}
	if i := slices.Index(citadel.OrgStepOrder, step); i >= 0 {
		return i
	}
	return 99
}

// StepStarted records that an attempt of a scan's step began: the step is
// running, its first start kept, its attempts counted. One update.
func (s *Store) StepStarted(ctx context.Context, scanID, step string, at time.Time) error {
	k := scanStepKey(scanID, stepOrder(step), step)
	var cc dynamo.ConsumedCapacity
	err := s.table.Update(AttrPK, k.PK).Range(AttrSK, k.SK).
		Set(AttrType, TypeScanStep).
		Set("Step", step).
		Set("Status", citadel.StepRunning).
		SetIfNotExists("StartedAt", at).
		Add("Attempts", 1).
		Remove("FinishedAt", "Error").
		ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 1)
	return wrapAWS(err, "record start of step "+step+" of scan "+scanID)
}

// StepFinished records how a scan's step's attempt ended: its counts and
// usage, or its error. One update; a step never recorded as started (an
// older execution) is created.
func (s *Store) StepFinished(ctx context.Context, scanID string, p citadel.StepProgress) error {
	k := scanStepKey(scanID, stepOrder(p.Step), p.Step)
	u := s.table.Update(AttrPK, k.PK).Range(AttrSK, k.SK).
		Set(AttrType, TypeScanStep).
		Set("Step", p.Step).
		Set("Status", p.Status).
		SetIfNotExists("StartedAt", p.StartedAt).
		SetIfNotExists("Attempts", 1).
		Set("FinishedAt", p.FinishedAt).
		Set("Usage", p.Usage)
	if len(p.Counts) > 0 {
		u = u.Set("Counts", p.Counts)
	}
	if p.Error != "" {
		u = u.Set("Error", p.Error)
	} else {
		u = u.Remove("Error")
	}
	var cc dynamo.ConsumedCapacity
	err := u.ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 1)
	return wrapAWS(err, "record end of step "+p.Step+" of scan "+scanID)
}

// ScanSteps lists a scan's recorded steps in pipeline order (one query).
func (s *Store) ScanSteps(ctx context.Context, scanID string) ([]citadel.StepProgress, error) {
	var items []scanStepItem
	pk := scanStepKey(scanID, 0, "").PK
	if err := s.queryAll(ctx, s.byPK(pk).Range(AttrSK, dynamo.BeginsWith, scanStepSKPrefix()), &items, "steps of scan "+scanID); err != nil {
		return nil, err
	}
	out := make([]citadel.StepProgress, 0, len(items))
	for _, it := range items {
		out = append(out, it.StepProgress)
	}
	return out, nil
}
