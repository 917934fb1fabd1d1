package checkresults

import (
	"sort"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/digest"
)

// This file is what failed shards leave untouched, pure: the scope of their
// checks in their regions, the previous digest's entries in it carried into
// this scan's digest as they were, and the share of a shard's duration among
// its units.
//
// A result's region is its resource's: the asset's region as the inventory
// recorded it, else the region of its ARN. A result with no region (both
// empty, or the inventory's "global", as IAM's) is taken to be in every
// region: any failed shard that ran its check covers it, so a failure never
// costs a result whose region is unknown. A check of a global unit covers
// assets of any region.
//
// A check's units are the units of its shard whose group is the check's
// group: its catalog service's (citadel.ShardGroupOf), the grouping the
// planner used; a check the catalog does not know is grouped by its id's
// service (up to its first "_": Prowler names every check <service>_...).
// A check no unit's group names belongs to every unit of its shard, which
// keeps more results than it needs to, never fewer.

// scope is, per check id, what the failed shards covered.
type scope map[string]*checkScope

type checkScope struct {
	global  bool            // a global unit's check: every region
	regions map[string]bool // the regions of its failed shards
}

// groupOf is a check's shard group, then other names it may go by in a
// plan (tried in order).
type groupOf func(check string) []string

// add puts a failed shard's checks in their regions into the scope.
func (s scope) add(ps *citadel.PlannedShard, group groupOf) {
	for _, c := range ps.CheckIDs {
		cs := s[c]
		if cs == nil {
			cs = &checkScope{regions: map[string]bool{}}
			s[c] = cs
		}
		for _, u := range unitsOfCheck(ps, group(c)) {
			if u.Region == citadel.ShardGlobalRegion {
				cs.global = true
			} else {
				cs.regions[u.Region] = true
			}
		}
		// Prowler ran every check of the shard in every region it was given.
		if !cs.global {
			for _, reg := range ps.Regions {
				cs.regions[reg] = true
			}
		}
	}
}

// covers reports whether a result of the check in region ("": none) was
// left untouched by a failed shard.
func (c *checkScope) covers(region string) bool {
	return c != nil && (c.global || region == "" || c.regions[region])
}

// unitsOfCheck are the units of ps of a check's group (the first of its
// names any unit has), else every unit of ps.
func unitsOfCheck(ps *citadel.PlannedShard, groups []string) []citadel.ShardUnit {
	for _, g := range groups {
		var out []citadel.ShardUnit
		for _, u := range ps.Units {
			if u.Group == g {
				out = append(out, u)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return ps.Units
}

// resultRegion is the region a result of an asset is in: the inventory's,
// else its ARN's; "" when neither names one.
func resultRegion(assetRegion, arn string) string {
	if assetRegion != "" && assetRegion != citadel.ShardGlobalRegion {
		return assetRegion
	}
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// withCarried adds the entries carried from the base digest (their checks
// indexes into baseChecks) to the scan's sorted entries (indexes into
// checks), and returns the digest's entries and sorted checks. The two never
// share a (check, asset): an entry is carried only when the scan has none.
func withCarried(entries []digest.Entry, checks []string, carried []digest.Entry, baseChecks []string) ([]digest.Entry, []string) {
	if len(carried) == 0 {
		return entries, checks
	}
	set := make(map[string]bool, len(checks))
	union := append([]string(nil), checks...)
	for _, c := range checks {
		set[c] = true
	}
	for _, e := range carried {
		if c := baseChecks[e.Check]; !set[c] {
			set[c] = true
			union = append(union, c)
		}
	}
	sort.Strings(union)
	pos := make(map[string]uint16, len(union))
	for i, c := range union {
		pos[c] = uint16(i)
	}
	out := make([]digest.Entry, 0, len(entries)+len(carried))
	for _, e := range entries {
		e.Check = pos[checks[e.Check]]
		out = append(out, e)
	}
	for _, e := range carried {
		e.Check = pos[baseChecks[e.Check]]
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return digest.Less(out[i], out[j]) })
	return out, union
}

// unitSeconds shares a shard's measured seconds among its units by their
// number of checks: the plan's counts (PlannedShard.UnitDurations), else,
// for a plan without them, its checks by group; a shard with no checks
// shares them equally.
func unitSeconds(ps *citadel.PlannedShard, seconds float64, group groupOf) citadel.ShardDurations {
	if len(ps.Units) == 0 || seconds < 0 {
		return nil
	}
	if len(ps.UnitChecks) > 0 {
		return ps.UnitDurations(seconds)
	}
	weight := make(map[string]float64, len(ps.Units))
	for _, u := range ps.Units {
		weight[u.Key()] = 0
	}
	total := 0.0
	for _, c := range ps.CheckIDs {
		for _, u := range unitsOfCheck(ps, group(c)) {
			weight[u.Key()]++
			total++
		}
	}
	out := make(citadel.ShardDurations, len(weight))
	for k, w := range weight {
		if total == 0 {
			out[k] = seconds / float64(len(weight))
		} else {
			out[k] = seconds * w / total
		}
	}
	return out
}

// idGroup groups a check by its id's service, for checks the catalog does
// not know (and plans grouped by service).
func idGroup(check string) []string {
	service, _, _ := strings.Cut(check, "_")
	return []string{service}
}
