package checkresults

import (
	"sort"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/digest"
)

// This file is the comparison's logic, pure: the scan's results sorted into
// digest order, merged with the previous scan's digest, and a decision per
// result from the merge and the stored heads of the results the digest did
// not hold. compare.go feeds it from the store.

// sortByCheck renumbers the entries' checks (indexes into checks, in
// first-seen order) into the sorted list a digest keeps, sorts the entries
// by (check, asset) and returns the sorted list.
func sortByCheck(checks []string, entries []entry) []string {
	sorted := append([]string(nil), checks...)
	sort.Strings(sorted)
	pos := make(map[string]uint16, len(sorted))
	for i, c := range sorted {
		pos[c] = uint16(i)
	}
	remap := make([]uint16, len(checks))
	for i, c := range checks {
		remap[i] = pos[c]
	}
	for i := range entries {
		entries[i].Check = remap[entries[i].Check]
	}
	sort.Slice(entries, func(i, j int) bool { return digest.Less(entries[i].Entry, entries[j].Entry) })
	return sorted
}

// countResults counts the scan's results by effective status (excepted
// apart from failed) and snapshot.
func countResults(out *citadel.CheckResultsOutput, entries []entry) {
	for _, e := range entries {
		switch e.Status.Effective() {
		case citadel.StatusPass:
			out.ChecksPassed++
		case citadel.StatusFail:
			out.ChecksFailed++
		case citadel.StatusExcepted:
			out.ChecksExcepted++
		case citadel.StatusError:
			out.ChecksError++
		case citadel.StatusNotApplicable:
			out.ChecksNotApplicable++
		}
		if e.snap {
			out.SnapshotsCaptured++
		} else {
			out.SnapshotsFailed++
		}
	}
}

// inBase is what the previous digest holds of one of the scan's results.
type inBase uint8

const (
	notInBase inBase = iota
	sameAsBase
	changedFromBase
)

// baseOf is the merge's finding for one result: whether the base holds
// it, and its status there (with its excepted flag).
type baseOf struct {
	kind   inBase
	status digest.Status
}

// merger merges the scan's sorted entries with the base digest's entries,
// fed to add in the base's order; the two name checks by index into their
// own sorted lists, so they are matched by check id.
type merger struct {
	entries    []entry
	checks     []string
	baseChecks []string
	next       int // the first entry not yet passed by the base
	base       []baseOf
}

func newMerger(entries []entry, checks, baseChecks []string) *merger {
	return &merger{entries: entries, checks: checks, baseChecks: baseChecks, base: make([]baseOf, len(entries))}
}

// add merges the base's next entry and reports whether the scan has a
// result of its (check, asset).
func (m *merger) add(b digest.Entry) bool {
	bc := m.baseChecks[b.Check]
	for m.next < len(m.entries) {
		e := m.entries[m.next]
		ec := m.checks[e.Check]
		if ec < bc || ec == bc && string(e.Asset[:]) < string(b.Asset[:]) {
			m.next++
			continue
		}
		if ec == bc && e.Asset == b.Asset {
			m.base[m.next] = baseOf{changedFromBase, b.Status}
			if e.Hash == b.Hash && e.Status == b.Status {
				m.base[m.next].kind = sameAsBase
			}
			m.next++
			return true
		}
		return false
	}
	return false
}

// forget drops what was merged (a base found incomplete): every result is
// then not in the base.
func (m *merger) forget() { clear(m.base) }

// missing lists, by index, the entries the base does not hold and those
// whose change from the base involves an exception's mark (the base's entry
// or the scan's is excepted): the exception sweep re-marks results without a
// scan (shared/jobs/exceptionsweep), so the base may hold a mark the stored
// result no longer carries, and the stored result, not the base, says
// whether the scan changes it.
func (m *merger) missing() []int {
	var out []int
	for i, b := range m.base {
		if b.kind == notInBase || b.kind == changedFromBase && (b.status.Excepted() || m.entries[i].Status.Excepted()) {
			out = append(out, i)
		}
	}
	return out
}

// decisions are the comparison's outcome: the changes pass 2 writes, in
// file order, and the counts of the step's output.
type decisions struct {
	changes                              []change
	unchanged, created, updated, history int
	regressions                          int
}

// decide decides, per result, unchanged, created or updated, whether it
// gets a history entry and whether that is a regression that emits an
// event. base is the merge's finding per entry; heads are the stored
// current results (by entry index) of entries the base does not hold, or
// holds with another mark (merger.missing), and the store has (none on an
// integration's first scan): a stored result that already says what the
// scan found (a remark without a scan did it) is unchanged. Entries carry their
// exception's mark (mark.go): a result whose exception alone changed is
// updated, and statuses compare as they read (citadel.EffectiveStatus), so
// fail → excepted and back are history entries, excepted → fail a
// regression.
func decide(scanID string, entries []entry, base []baseOf, heads map[int]ddb.ResultState) decisions {
	var d decisions
	for i, e := range entries {
		status := e.Status.Effective()
		_, muted := e.Status.Unpack()
		ch := change{finding: e.finding, res: e.res}
		h, stored := heads[i]
		switch {
		case base[i].kind == sameAsBase:
			d.unchanged++
			continue
		case base[i].kind == changedFromBase && !stored:
			ch.kind, ch.hadPrev, ch.prev = updated, true, base[i].status.Effective()
		default:
			// Not in the base, or a change of marks the stored result decides.
			switch {
			case !stored:
				ch.kind = created
			case h.ScanID == scanID:
				// Written by an earlier, interrupted run of this scan:
				// decide as that run did.
				ch.kind, ch.prev, ch.hadPrev = created, h.PreviousStatus, h.HadPrevious
				if h.HadPrevious {
					ch.kind = updated
				}
			case sameAsStored(h, e.Entry):
				d.unchanged++
				continue
			default:
				ch.kind, ch.prev, ch.hadPrev = updated, h.Effective(), true
			}
		}
		if ch.kind == created {
			d.created++
		} else {
			d.updated++
		}
		ch.history = !ch.hadPrev || ch.prev != status
		if ch.history {
			d.history++
			h := citadel.CheckResultHistory{PreviousStatus: ch.prev, NewStatus: status}
			if h.IsRegression() && !muted {
				d.regressions++
				ch.regress = true
			}
		}
		d.changes = append(d.changes, ch)
	}
	sort.Slice(d.changes, func(i, j int) bool {
		a, b := d.changes[i], d.changes[j]
		return a.finding < b.finding || a.finding == b.finding && a.res < b.res
	})
	return d
}

// sameAsStored reports whether a stored current result says what entry e
// does: the same content and the same exception (the entry's hash is the
// content hash marked with it, digest.Hash.Marked).
func sameAsStored(h ddb.ResultState, e digest.Entry) bool {
	content, ok := digest.ParseHash(h.ContentHash)
	return ok && content.Marked(h.ExceptionID) == e.Hash
}
