package exceptionsweep

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/citadelsecure/citadel/shared/busevents"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/evidencechain"
	"github.com/citadelsecure/citadel/shared/exceptions"
)

// This file re-marks one integration's results of one check with the
// approved exceptions live now, and carries the change into the controls.

// maxAttempts bounds the re-reads after a concurrent change of a control.
const maxAttempts = 5

// Remark re-marks integrationID's current results of checkID: each whose
// covering exception (exceptions.Set.Mark) differs from its stored mark is
// rewritten with its history entry, "Check Regressed" sent for each excepted
// → fail (a muted result's not, as at a scan), its evidence record given
// the revision of its new mark (evidence.go), and the controls the check's
// results count in are updated by the moves between failed and excepted.
func (h *Handler) Remark(ctx context.Context, integrationID, checkID string) (Remarked, error) {
	return h.remark(ctx, integrationID, checkID, h.Now())
}

// remark is Remark with the exceptions live at now.
func (h *Handler) remark(ctx context.Context, integrationID, checkID string, now time.Time) (Remarked, error) {
	var out Remarked
	es, err := h.Store.ExceptionsOfCheck(ctx, integrationID, checkID, citadel.ExceptionApproved)
	if err != nil {
		return out, fmt.Errorf("remark %s of %s: %w", checkID, integrationID, err)
	}
	set := exceptions.NewSet(integrationID, es, now)
	dec := evidencechain.NewDecisions(h.Store, now, es...)
	remarkID := citadel.NewID("scan", now) // the history entries' key: sorts with the scans'
	moved := 0                             // results gone fail → excepted, less those gone back
	var events []ebtypes.PutEventsRequestEntry
	for r, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.CheckResult], error) {
		return h.Store.ListResultHeadsOfCheck(ctx, integrationID, checkID, 500, cursor)
	}) {
		if err != nil {
			return out, fmt.Errorf("remark %s of %s: %w", checkID, integrationID, err)
		}
		if r.Status != citadel.StatusFail && r.ExceptionID == "" {
			continue // only failures are marked
		}
		var tags map[string]string
		if set.NeedsTags(checkID) {
			if tags, err = h.assetTags(ctx, r); err != nil {
				return out, err
			}
		}
		to := set.Mark(r, tags)
		if to == r.ExceptionID {
			continue
		}
		next := r
		next.ExceptionID = to
		cause := to
		if cause == "" {
			cause = r.ExceptionID
		}
		m := ddb.ResultRemark{IntegrationID: r.IntegrationID, CheckID: r.CheckID, AssetID: r.AssetID, ContentHash: r.ContentHash, From: r.ExceptionID, To: to}
		prev, after := r.Effective(), next.Effective()
		var hist citadel.CheckResultHistory
		if prev != after {
			hist = citadel.CheckResultHistory{IntegrationID: r.IntegrationID, CheckID: r.CheckID, AssetID: r.AssetID, ScanID: r.ScanID,
				PreviousStatus: prev, NewStatus: after, ChangedAt: now, ExceptionID: cause}
			m.History = &hist
		}
		changed, err := h.Store.RemarkResult(ctx, m, remarkID)
		if err != nil {
			return out, err
		}
		if !changed {
			out.ResultsSkipped++
			continue
		}
		out.ResultsRemarked++
		revised, err := h.reviseEvidence(ctx, dec, next, now)
		if err != nil {
			return out, fmt.Errorf("remark %s of %s: %w", checkID, integrationID, err)
		}
		out.EvidenceRevised += boolInt(revised)
		switch after {
		case citadel.StatusExcepted:
			moved += boolInt(prev == citadel.StatusFail)
		case citadel.StatusFail:
			moved -= boolInt(prev == citadel.StatusExcepted)
		}
		if m.History != nil && hist.IsRegression() && !r.Muted {
			events = append(events, busevents.Regression(next, remarkID, prev, cause, h.EventBus, now))
		}
	}
	if err := h.put(ctx, events...); err != nil {
		return out, fmt.Errorf("remark %s of %s: regressions: %w", checkID, integrationID, err)
	}
	out.Regressions = len(events)
	if moved != 0 {
		n, err := h.updateControls(ctx, integrationID, checkID, moved, now)
		out.ControlsUpdated = n
		if err != nil {
			return out, fmt.Errorf("remark %s of %s: %w", checkID, integrationID, err)
		}
	}
	h.Logger().InfoContext(ctx, "results re-marked", "step", StepName, "integration_id", integrationID, "check_id", checkID,
		"results_remarked", out.ResultsRemarked, "results_skipped", out.ResultsSkipped, "regression_events", out.Regressions,
		"controls_updated", out.ControlsUpdated, "evidence_revised", out.EvidenceRevised)
	return out, nil
}

// assetTags are the inventory's tags of r's asset (nil when it is not there).
func (h *Handler) assetTags(ctx context.Context, r citadel.CheckResult) (map[string]string, error) {
	a, err := h.Store.GetAsset(ctx, r.IntegrationID, r.AssetARN)
	if citadel.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tags of asset %s: %w", r.AssetARN, err)
	}
	return a.Tags, nil
}

// updateControls moves `moved` results from failed to excepted (negative:
// back) in the per-integration counts of every control of the integration's
// folder that this check's results count in (it lists the check and has
// counts of the integration), and recomputes its counts and posture
// (citadel.AppliedControl.SumIntegrations, citadel.ComputePosture). A
// re-mark changes only statuses, never which results link where, so the
// links and their digest stay; the next scan's controls step then finds the
// same counts and writes nothing. It returns the controls written.
func (h *Handler) updateControls(ctx context.Context, integrationID, checkID string, moved int, now time.Time) (int, error) {
	in, err := h.Store.GetIntegration(ctx, integrationID)
	if citadel.IsNotFound(err) {
		return 0, nil // deleted or archived: its controls' counts went with it
	}
	if err != nil {
		return 0, fmt.Errorf("integration of the results: %w", err)
	}
	cs, err := h.Store.AllControls(ctx, in.FolderID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cs {
		written, err := h.moveCounts(ctx, c, integrationID, checkID, moved, now)
		if err != nil {
			return n, fmt.Errorf("control %s: %w", c.ID, err)
		}
		n += boolInt(written)
	}
	return n, nil
}

// moveCounts applies the move to control c, re-reading it when another
// writer changed it first.
func (h *Handler) moveCounts(ctx context.Context, c citadel.AppliedControl, integrationID, checkID string, moved int, now time.Time) (bool, error) {
	for attempt := 1; ; attempt++ {
		p, ok := c.Integrations[integrationID]
		if !ok || !slices.Contains(c.SecurityCheckIDs, checkID) {
			return false, nil
		}
		k := moved
		if k > 0 {
			k = min(k, p.Failed)
		} else {
			k = -min(-k, p.Excepted)
		}
		if k == 0 {
			return false, nil
		}
		p.Failed, p.Excepted = p.Failed-k, p.Excepted+k
		next := c
		next.Integrations = maps.Clone(c.Integrations)
		next.Integrations[integrationID] = p
		next.SumIntegrations()
		next.UpdatedAt = now
		_, err := h.Store.PutControl(ctx, next)
		if err == nil {
			return true, nil
		}
		if !citadel.IsConflict(err) || attempt == maxAttempts {
			return false, fmt.Errorf("write: %w", err)
		}
		if c, err = h.Store.GetControl(ctx, c.ID); err != nil {
			return false, fmt.Errorf("re-read: %w", err)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
