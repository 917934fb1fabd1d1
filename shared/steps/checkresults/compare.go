package checkresults

import (
	"context"
	"encoding/hex"
	"errors"
	"sort"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// This file decides, per result, what changed since the previous scan.

// sortEntries sorts the results by (check, asset), renumbers the checks
// into the sorted list the digest keeps, and counts statuses.
func (r *run) sortEntries() []string {
	sorted := append([]string(nil), r.checks...)
	sort.Strings(sorted)
	pos := map[string]uint16{}
	for i, c := range sorted {
		pos[c] = uint16(i)
	}
	remap := make([]uint16, len(r.checks))
	for i, c := range r.checks {
		remap[i] = pos[c]
	}
	for i := range r.entries {
		e := &r.entries[i]
		e.check = remap[e.check]
		st, _ := ddb.UnpackStatus(e.status)
		switch st {
		case citadel.StatusPass:
			r.out.ChecksPassed++
		case citadel.StatusFail:
			r.out.ChecksFailed++
		case citadel.StatusError:
			r.out.ChecksError++
		case citadel.StatusNotApplicable:
			r.out.ChecksNotApplicable++
		}
		if e.snap {
			r.out.SnapshotsCaptured++
		} else {
			r.out.SnapshotsFailed++
		}
	}
	r.seen = nil
	sort.Slice(r.entries, func(i, j int) bool {
		a, b := r.entries[i], r.entries[j]
		if a.check != b.check {
			return a.check < b.check
		}
		return string(a.asset[:]) < string(b.asset[:])
	})
	r.checks = sorted
	return sorted
}

type comparison struct {
	scanID  string
	changes []change
}

// compare merges the scan's sorted results with the previous digest and
// decides, per result, created, updated (and whether the status changed)
// or unchanged. Results the previous digest lacks are looked up in the
// store, unless the integration never had a digest (its first scan).
func (r *run) compare(ctx context.Context, sorted []string) (comparison, error) {
	var c comparison
	const (
		notInBase = iota
		sameAsBase
		changedFromBase
	)
	match := make([]uint8, len(r.entries))
	baseStatus := make([]byte, len(r.entries))
	lookup := true
	base, err := r.h.Store.LatestScanDigest(ctx, r.plan.IntegrationID)
	switch {
	case citadel.IsNotFound(err):
		lookup = false
	case errors.Is(err, ddb.ErrDigestExpired):
	case err != nil:
		return c, err
	default:
		c.scanID = base.ScanID
		i := 0
		err := r.h.Store.DigestEntries(ctx, base, func(b ddb.DigestEntry) error {
			bc := base.Checks[b.Check]
			for i < len(r.entries) {
				e := r.entries[i]
				ec := sorted[e.check]
				if ec < bc || ec == bc && string(e.asset[:]) < string(b.Asset[:]) {
					i++
					continue
				}
				if ec == bc && e.asset == b.Asset {
					match[i], baseStatus[i] = changedFromBase, b.Status
					if e.hash == b.Hash && e.status == b.Status {
						match[i] = sameAsBase
					}
					i++
				}
				return nil
			}
			return nil
		})
		if errors.Is(err, ddb.ErrDigestExpired) {
			clear(match)
		} else if err != nil {
			return c, err
		}
	}

	// Look up the results the base does not hold.
	var missing []int
	for i := range r.entries {
		if match[i] == notInBase && lookup {
			missing = append(missing, i)
		}
	}
	states := map[int]ddb.ResultState{}
	for len(missing) > 0 {
		n := min(len(missing), 1000)
		ids := make([]string, n)
		for k, i := range missing[:n] {
			ids[k] = r.resultID(r.entries[i])
		}
		got, err := r.h.Store.ResultStates(ctx, ids)
		if err != nil {
			return c, err
		}
		for k, i := range missing[:n] {
			if st, ok := got[ids[k]]; ok {
				states[i] = st
			}
		}
		missing = missing[n:]
	}

	for i, e := range r.entries {
		status, muted := ddb.UnpackStatus(e.status)
		ch := change{finding: e.finding, res: e.res}
		switch match[i] {
		case sameAsBase:
			r.out.ResultsUnchanged++
			continue
		case changedFromBase:
			ch.kind, ch.hadPrev = updated, true
			ch.prev, _ = ddb.UnpackStatus(baseStatus[i])
		default:
			st, ok := states[i]
			switch {
			case !ok:
				ch.kind = created
			case st.ScanID == r.plan.ScanID:
				// Written by an earlier, interrupted run of this scan:
				// decide as that run did.
				ch.kind, ch.prev, ch.hadPrev = created, st.PreviousStatus, st.HadPrevious
				if st.HadPrevious {
					ch.kind = updated
				}
			case st.ContentHash == hex.EncodeToString(e.hash[:]):
				r.out.ResultsUnchanged++
				continue
			default:
				ch.kind, ch.prev, ch.hadPrev = updated, st.Status, true
			}
		}
		if ch.kind == created {
			r.out.ResultsCreated++
		} else {
			r.out.ResultsUpdated++
		}
		ch.history = !ch.hadPrev || ch.prev != status
		if ch.history {
			r.out.HistoryEntriesCreated++
			h := citadel.CheckResultHistory{PreviousStatus: ch.prev, NewStatus: status}
			if h.IsRegression() && !muted {
				r.out.RegressionEvents++
				ch.regress = true
			}
		}
		c.changes = append(c.changes, ch)
	}
	sort.Slice(c.changes, func(i, j int) bool {
		a, b := c.changes[i], c.changes[j]
		return a.finding < b.finding || a.finding == b.finding && a.res < b.res
	})
	return c, nil
}

func (r *run) resultID(e entry) string {
	return citadel.ResultID(r.plan.IntegrationID, r.checks[e.check], hex.EncodeToString(e.asset[:]))
}
