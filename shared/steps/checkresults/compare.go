package checkresults

import (
	"context"
	"errors"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/digest"
)

// This file reads what the comparison needs from the store (the previous
// digest, the current results it lacks) and runs the merge (merge.go).

// sortEntries sorts the results into digest order and counts them.
func (r *run) sortEntries() []string {
	r.seen = nil
	countResults(&r.out, r.entries)
	r.checks = sortByCheck(r.checks, r.entries)
	return r.checks
}

type comparison struct {
	scanID  string // the base digest's scan, "" when none
	changes []change
}

// compare merges the scan's sorted results with the previous digest and
// decides, per result, created, updated (and whether the status changed)
// or unchanged. Results the previous digest lacks are looked up in the
// store, unless the integration never had a digest (its first scan).
func (r *run) compare(ctx context.Context, sorted []string) (comparison, error) {
	var c comparison
	lookup := true
	m := newMerger(r.entries, sorted, nil)
	base, err := r.h.Store.LatestScanDigest(ctx, r.plan.IntegrationID)
	switch {
	case citadel.IsNotFound(err):
		lookup = false
	case errors.Is(err, ddb.ErrDigestExpired):
	case err != nil:
		return c, err
	default:
		c.scanID = base.ScanID
		m.baseChecks = base.Checks
		err := r.h.Store.DigestEntries(ctx, base, func(b digest.Entry) error { m.add(b); return nil })
		if errors.Is(err, ddb.ErrDigestExpired) {
			m.forget()
		} else if err != nil {
			return c, err
		}
	}

	// Look up the results the base does not hold.
	var missing []int
	if lookup {
		missing = m.missing()
	}
	heads := map[int]ddb.ResultState{}
	for len(missing) > 0 {
		n := min(len(missing), 1000)
		refs := make([]ddb.ResultRef, n)
		for k, i := range missing[:n] {
			refs[k] = r.resultRef(r.entries[i])
		}
		got, err := r.h.Store.ResultStates(ctx, r.plan.IntegrationID, refs)
		if err != nil {
			return c, err
		}
		for k, i := range missing[:n] {
			if st, ok := got[refs[k]]; ok {
				heads[i] = st
			}
		}
		missing = missing[n:]
	}

	d := decide(r.plan.ScanID, r.entries, m.base, heads)
	r.out.ResultsUnchanged += d.unchanged
	r.out.ResultsCreated += d.created
	r.out.ResultsUpdated += d.updated
	r.out.HistoryEntriesCreated += d.history
	r.out.RegressionEvents += d.regressions
	c.changes = d.changes
	return c, nil
}

func (r *run) resultRef(e entry) ddb.ResultRef {
	return ddb.ResultRef{CheckID: r.checks[e.Check], AssetID: e.Asset.String()}
}
