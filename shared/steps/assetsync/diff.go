package assetsync

import (
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/diff"
	"github.com/citadelsecure/citadel/shared/inventory"
)

// The sync reads as collect -> diff -> write: collect folds the collectors'
// results into one inventory, diffAssets and diffEdges compare it with the
// store (pure functions), apply (assetsync.go) loads and writes.

type scopeKey struct{ typ, region string }

// collected is the inventory the collectors reported.
type collected struct {
	succeeded map[scopeKey]bool           // scopes whose collector succeeded
	assets    []citadel.Asset             // each ARN's first report, in report order, with id and fingerprint
	byARN     map[string]citadel.Asset    // the same, by ARN (the source id)
	aliases   map[string][]string         // ARN an edge may name -> the asset ARNs it stands for
	edges     []citadel.AssetRelationship // as emitted, before aliases are resolved
}

// collect folds the successful results into one inventory of integ.
func collect(integ string, results []inventory.Result) collected {
	c := collected{succeeded: map[scopeKey]bool{}, byARN: map[string]citadel.Asset{}, aliases: map[string][]string{}}
	for _, r := range results {
		if r.Err != nil {
			continue
		}
		c.succeeded[scopeKey{r.ResourceType, r.Region}] = true
		for _, a := range r.Batch.Assets {
			if _, dup := c.byARN[a.SourceID]; dup {
				continue
			}
			a.IntegrationID = integ
			a.ID = citadel.AssetID(integ, a.Source, a.SourceID)
			a.Fingerprint = a.ComputeFingerprint()
			c.byARN[a.SourceID] = a
			c.assets = append(c.assets, a)
		}
		for k, v := range r.Batch.Aliases {
			c.aliases[k] = append(c.aliases[k], v...)
		}
		for _, e := range r.Batch.Edges {
			c.edges = append(c.edges, citadel.AssetRelationship{IntegrationID: integ, FromARN: e.From, ToARN: e.To, Kind: e.Kind})
		}
	}
	return c
}

// scopes says which coverage scope a stored asset's type and region belong
// to; ok is false for types no collector of the registry owns (never
// deactivated here).
type scopes func(typ, region string) (sc scopeKey, ok bool)

// assetDiff is what the sync writes for the assets.
type assetDiff struct {
	writes           []citadel.Asset    // created, changed or reactivated, in report order
	gone             []ddb.Deactivation // active, not reported, in a scope that succeeded
	active           map[string]bool    // ARNs active after the sync
	created, updated int                // counted as an unfaulted attempt counts them
}

// diffAssets compares the collected assets with the stored states. An asset
// not reported is deactivated only when its scope's collector succeeded;
// prevSynced (each scope's last full sync) dates its last sighting when
// that is later than its own last_seen.
func diffAssets(p citadel.PlanOutput, c collected, states []ddb.AssetState, prevSynced map[scopeKey]time.Time, scopeOf scopes, now time.Time) assetDiff {
	d := assetDiff{active: map[string]bool{}}
	pairs, unseen := diff.Match(states, func(s ddb.AssetState) string { return s.ARN }, c.assets, func(a citadel.Asset) string { return a.SourceID })
	for _, pr := range pairs {
		a, s := pr.Want, pr.Stored
		d.active[a.SourceID] = true
		switch {
		case !pr.Found:
			a.FirstSeen, a.LastSeen = now, now
			d.created++
		case s.Fingerprint != a.Fingerprint || !s.IsActive:
			a.FirstSeen, a.LastSeen = s.FirstSeen, now
			d.updated++
		case writtenBy(p, s):
			// An earlier attempt of this scan (throttled after its asset
			// writes, retried by the state machine) already wrote it: no
			// write, but it counts as that attempt counted it, so a retried
			// step reports what an unfaulted one does.
			if s.FirstSeen.Before(p.StartedAt) {
				d.updated++
			} else {
				d.created++
			}
			continue
		default:
			continue
		}
		d.writes = append(d.writes, a)
	}
	for _, s := range unseen {
		if !s.IsActive {
			continue
		}
		if sc, ok := scopeOf(s.ServiceType, s.Region); ok && c.succeeded[sc] {
			last := s.LastSeen
			if t := prevSynced[sc]; t.After(last) {
				last = t
			}
			d.gone = append(d.gone, ddb.Deactivation{ARN: s.ARN, LastSeen: last, ItemBytes: s.ItemBytes})
			continue
		}
		d.active[s.ARN] = true // its scope failed or was not synced: left as it was
	}
	return d
}

// writtenBy reports whether a stored asset was written during the plan's
// scan: only a created or updated asset's item is written (an unchanged
// one's last_seen lives in the coverage items), with last_seen the time of
// that write, and the integration's lock keeps its scans apart.
func writtenBy(p citadel.PlanOutput, s ddb.AssetState) bool {
	return !p.StartedAt.IsZero() && s.IsActive && !s.LastSeen.Before(p.StartedAt)
}

// diffEdges resolves aliases, keeps the edges whose both ends are active and
// compares them with the stored edges: add are the new ones, del the stored
// ones to go (sorted). A stored edge goes when an end is no longer active,
// or when its source's scope was collected and did not report it again;
// edges of sources in failed scopes stay.
func diffEdges(emitted, existing []citadel.AssetRelationship, aliases map[string][]string, active map[string]bool,
	collected func(from string) bool) (add, del []citadel.AssetRelationship) {
	want := map[citadel.AssetRelationship]bool{}
	// An edge to an ARN that is neither an asset nor a known alias (say, an
	// instance profile while the role collector fails) pins the stored edges
	// of its source and kind: the sync cannot tell whether they still hold.
	type fromKind struct {
		from string
		kind citadel.RelationshipKind
	}
	pinned := map[fromKind]bool{}
	var wanted []citadel.AssetRelationship
	for _, e := range emitted {
		targets := []string{e.ToARN}
		if t, ok := aliases[e.ToARN]; ok {
			targets = t
		} else if !active[e.ToARN] {
			pinned[fromKind{e.FromARN, e.Kind}] = true
		}
		for _, to := range targets {
			e.ToARN = to
			if active[e.FromARN] && active[to] && e.FromARN != to && !want[e] {
				want[e] = true
				wanted = append(wanted, e)
			}
		}
	}
	self := func(e citadel.AssetRelationship) citadel.AssetRelationship { return e }
	pairs, unwanted := diff.Match(existing, self, wanted, self)
	for _, p := range pairs {
		if !p.Found {
			add = append(add, p.Want)
		}
	}
	for _, e := range unwanted {
		if !active[e.FromARN] || !active[e.ToARN] || collected(e.FromARN) && !pinned[fromKind{e.FromARN, e.Kind}] {
			del = append(del, e)
		}
	}
	sortEdges(add)
	sortEdges(del)
	return add, del
}
