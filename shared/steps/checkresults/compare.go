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

// sortEntries sorts the results into digest order.
func (r *run) sortEntries() []string {
	r.seen = nil
	r.checks = sortByCheck(r.checks, r.entries)
	return r.checks
}

type comparison struct {
	scanID  string // the base digest's scan, "" when none
	changes []change
	// carried are the base's entries failed shards left untouched, their
	// checks indexes into checks (the base's).
	carried []digest.Entry
	checks  []string
}

// compare merges the scan's sorted results with the previous digest and
// decides, per result, created, updated (and whether the status changed)
// or unchanged. Results the previous digest lacks are looked up in the
// store, unless the integration never had a digest (its first scan). The
// base's entries of no result of the scan that a failed shard covers, or
// that a re-check does not cover (recheck.go), are kept to be carried into
// this scan's digest; with no usable base (a first scan, an expired digest)
// there is nothing to carry.
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
		c.scanID, c.checks = base.ScanID, base.Checks
		m.baseChecks = base.Checks
		var carry []*checkScope // by base check index, nil: nothing failed
		if len(r.scope) > 0 {
			carry = make([]*checkScope, len(base.Checks))
			for i, id := range base.Checks {
				carry[i] = r.scope[id]
			}
		}
		outside := r.outside(base.Checks) // nil: not a re-check
		err := r.h.Store.DigestEntries(ctx, base, func(b digest.Entry) error {
			if m.add(b) {
				return nil
			}
			if outside != nil && outside(b) || carry != nil && r.carries(carry[b.Check], b.Asset) {
				c.carried = append(c.carried, b)
			}
			return nil
		})
		if errors.Is(err, ddb.ErrDigestExpired) {
			m.forget()
			c.carried = nil
		} else if err != nil {
			return c, err
		}
		r.out.ResultsCarried = len(c.carried)
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

// carries reports whether a base entry on asset is in a failed shard's
// scope: its check's there and its asset, still active, is in a region the
// shard covered (or in none). An asset no longer active is gone: a shard
// that ran would not have found it either.
func (r *run) carries(cs *checkScope, asset digest.Asset) bool {
	if cs == nil {
		return false
	}
	ri, ok := r.assets[asset]
	return ok && cs.covers(r.regions[ri])
}

func (r *run) resultRef(e entry) ddb.ResultRef {
	return ddb.ResultRef{CheckID: r.checks[e.Check], AssetID: e.Asset.String()}
}
