package plan

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file is the shard planner: a scan's checks × regions cut into units
// (one service group in one region, citadel.ShardGroupOf; a global group
// once, in citadel.ShardGlobalRegion) and packed into shards, each one
// Prowler task. A shard is a rectangle: Prowler runs every check of its
// checks file in every region it is given, so a shard's regional units are
// some regions × some groups, all of them; its global units ride along
// (Prowler runs them once) in a shard that covers the first region.

// ShardLimits bound the planner.
type ShardLimits struct {
	// MaxShards is the most shards a scan gets (the smallest are merged
	// when the packing makes more).
	MaxShards int
	// TargetSeconds is the estimated run time a shard is packed up to.
	TargetSeconds float64
	// DefaultCheckSeconds is a check's estimated seconds in one region
	// (or once, for a global one) when the unit has no recorded duration.
	DefaultCheckSeconds float64
	// ShardOverheadSeconds is added to each shard's estimate: the task's
	// start, Prowler's start, the uploads.
	ShardOverheadSeconds float64
}

// MaxShardsLimit bounds ShardLimits.MaxShards (the ids stay short, the
// state machine's Map items few).
const MaxShardsLimit = 500

// DefaultShardLimits are the deployed planner's limits: shards of about 20
// minutes, at most 40 (an inline Map's concurrency).
var DefaultShardLimits = ShardLimits{MaxShards: 40, TargetSeconds: 20 * 60, DefaultCheckSeconds: 2, ShardOverheadSeconds: 90}

// Validate refuses limits the planner cannot work with.
func (l ShardLimits) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case l.MaxShards < 1 || l.MaxShards > MaxShardsLimit:
		return citadel.Invalid("shard limits: max shards %d is not 1 to %d", l.MaxShards, MaxShardsLimit)
	case !finite(l.TargetSeconds) || l.TargetSeconds <= 0:
		return citadel.Invalid("shard limits: target seconds %v is not a positive number", l.TargetSeconds)
	case !finite(l.DefaultCheckSeconds) || l.DefaultCheckSeconds <= 0:
		return citadel.Invalid("shard limits: default check seconds %v is not a positive number", l.DefaultCheckSeconds)
	case !finite(l.ShardOverheadSeconds) || l.ShardOverheadSeconds < 0 || l.ShardOverheadSeconds >= l.TargetSeconds:
		return citadel.Invalid("shard limits: shard overhead %v seconds is not 0 to the target's %v", l.ShardOverheadSeconds, l.TargetSeconds)
	}
	return nil
}

type unit struct {
	citadel.ShardUnit
	global  bool
	checks  []string
	seconds float64
}

// bin is a shard being packed: regions × groups of regional units (both
// empty for a shard of global units only), and global units riding along.
type bin struct {
	regions []string // in the plan's region order
	groups  []string // regional groups, sorted
	units   []*unit
	seconds float64 // the units' estimate, without the overhead
}

func (b *bin) regionKey() string { return strings.Join(b.regions, " ") }
func (b *bin) groupKey() string  { return strings.Join(b.groups, " ") }

// PlanShards cuts checks × regions into units and packs them into shards
// near limits.TargetSeconds, at most limits.MaxShards, the same shards for
// the same input (ids s01, s02, ... in the order of their first region,
// then their groups). A unit's estimate is its recorded duration in
// previous when there is one, else its checks × DefaultCheckSeconds. Every
// regional check is in exactly one shard per region, every global check in
// exactly one shard, whose regions include regions[0]. The shards' keys
// (ChecksKey, OCSFKey, ManifestKey) are the caller's: the planner knows no
// scan.
func PlanShards(checks []citadel.SecurityCheck, regions []string, previous citadel.ShardDurations, limits ShardLimits) ([]citadel.PlannedShard, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	if len(regions) == 0 {
		return nil, citadel.Invalid("plan shards: no regions to scan")
	}
	regionAt := map[string]int{}
	for i, r := range regions {
		if !citadel.ValidRegion(r) {
			return nil, citadel.Invalid("plan shards: region %q is not an AWS region name", r)
		}
		if _, dup := regionAt[r]; dup {
			return nil, citadel.Invalid("plan shards: region %s is listed twice", r)
		}
		regionAt[r] = i
	}
	if len(checks) == 0 {
		return nil, citadel.Invalid("plan shards: no checks to run")
	}
	groupChecks, globalGroup, err := groupChecks(checks)
	if err != nil {
		return nil, err
	}

	estimate := func(u *unit) float64 {
		if v, ok := previous[u.Key()]; ok && v >= 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v
		}
		return float64(len(u.checks)) * limits.DefaultCheckSeconds
	}
	groups := sortedKeys(groupChecks)
	capacity := limits.TargetSeconds - limits.ShardOverheadSeconds
	var bins []*bin
	// Each region's units (and the global ones) first-fit decreasing into
	// bins of their own region.
	for _, region := range append(slices.Clone(regions), citadel.ShardGlobalRegion) {
		var units []*unit
		for _, g := range groups {
			if globalGroup[g] != (region == citadel.ShardGlobalRegion) {
				continue
			}
			u := &unit{ShardUnit: citadel.ShardUnit{Region: region, Group: g}, global: globalGroup[g], checks: groupChecks[g]}
			u.seconds = estimate(u)
			units = append(units, u)
		}
		slices.SortStableFunc(units, func(a, b *unit) int { return cmp.Compare(b.seconds, a.seconds) })
		var own []*bin
		for _, u := range units {
			i := slices.IndexFunc(own, func(b *bin) bool { return b.seconds+u.seconds <= capacity })
			if i < 0 {
				own = append(own, &bin{})
				i = len(own) - 1
			}
			own[i].add(u)
		}
		bins = append(bins, own...)
	}

	// Merge while a merge stays within the target, then down to MaxShards.
	first := regions[0]
	var regional []string
	for _, g := range groups {
		if !globalGroup[g] {
			regional = append(regional, g)
		}
	}
	whole := strings.Join(regional, " ")
	for {
		i, j := bestMerge(bins, first, whole, capacity)
		if i < 0 {
			break
		}
		bins = merge(bins, i, j, regionAt)
	}
	for len(bins) > limits.MaxShards {
		i, j := bestMerge(bins, first, whole, math.Inf(1))
		if i < 0 {
			return nil, fmt.Errorf("plan shards: %d shards and none can merge (a planner bug)", len(bins))
		}
		bins = merge(bins, i, j, regionAt)
	}
	return shardsOf(bins, first, regionAt, limits.ShardOverheadSeconds), nil
}

// groupChecks returns each group's check ids (sorted) and which groups are
// global; checks without an id or a service are refused.
func groupChecks(checks []citadel.SecurityCheck) (map[string][]string, map[string]bool, error) {
	out := map[string][]string{}
	global := map[string]bool{}
	serviceOf := map[string]string{}
	for _, c := range checks {
		switch {
		case c.ID == "":
			return nil, nil, citadel.Invalid("plan shards: a check of service %q has no id", c.Service)
		case c.Service == "":
			return nil, nil, citadel.Invalid("plan shards: check %s has no service", c.ID)
		}
		if s, seen := serviceOf[c.ID]; seen {
			if s != c.Service {
				return nil, nil, citadel.Invalid("plan shards: check %s is of services %s and %s", c.ID, s, c.Service)
			}
			continue
		}
		serviceOf[c.ID] = c.Service
		g, isGlobal := citadel.ShardGroupOf(c.Service)
		out[g] = append(out[g], c.ID)
		global[g] = isGlobal
	}
	for g := range out {
		slices.Sort(out[g])
	}
	return out, global, nil
}

func (b *bin) add(u *unit) {
	b.units = append(b.units, u)
	b.seconds += u.seconds
	if u.global {
		return
	}
	if !slices.Contains(b.regions, u.Region) {
		b.regions = append(b.regions, u.Region)
	}
	if i, found := slices.BinarySearch(b.groups, u.Group); !found {
		b.groups = slices.Insert(b.groups, i, u.Group)
	}
}

// compatible reports whether a and b may merge: the same regions (groups
// add up), two shards of every regional group (regions add up), or one of
// global units only joining a shard that covers the first region. So the
// shards' region sets stay a partition of the regions, and each set's
// shards a partition of the groups: while there are two shards, two of
// them may merge (two of one region set, or two whole ones), and the cap
// is always reached. (Merging any two of the same groups would make
// rectangles that no longer pair up.)
func compatible(a, b *bin, first, whole string) bool {
	switch {
	case len(a.regions) == 0 && len(b.regions) == 0:
		return true
	case len(a.regions) == 0:
		return slices.Contains(b.regions, first)
	case len(b.regions) == 0:
		return slices.Contains(a.regions, first)
	}
	return a.regionKey() == b.regionKey() || a.groupKey() == whole && b.groupKey() == whole
}

// bestMerge returns the compatible pair whose merge is the smallest and
// within limit (-1, -1 when none), the earliest pair on a tie.
func bestMerge(bins []*bin, first, whole string, limit float64) (int, int) {
	bi, bj, best := -1, -1, math.Inf(1)
	for i := range bins {
		for j := i + 1; j < len(bins); j++ {
			s := bins[i].seconds + bins[j].seconds
			if s <= limit && s < best && compatible(bins[i], bins[j], first, whole) {
				bi, bj, best = i, j, s
			}
		}
	}
	return bi, bj
}

// merge puts bins[j] into bins[i] and removes it.
func merge(bins []*bin, i, j int, regionAt map[string]int) []*bin {
	for _, u := range bins[j].units {
		bins[i].add(u)
	}
	slices.SortFunc(bins[i].regions, func(a, b string) int { return cmp.Compare(regionAt[a], regionAt[b]) })
	return slices.Delete(bins, j, j+1)
}

// shardsOf orders the bins (first region, then groups), numbers them and
// lists their units and checks.
func shardsOf(bins []*bin, first string, regionAt map[string]int, overhead float64) []citadel.PlannedShard {
	order := func(b *bin) int {
		if len(b.regions) == 0 {
			return len(regionAt) // global units only: last
		}
		return regionAt[b.regions[0]]
	}
	slices.SortStableFunc(bins, func(a, b *bin) int {
		return cmp.Or(cmp.Compare(order(a), order(b)), cmp.Compare(a.groupKey(), b.groupKey()), cmp.Compare(a.regionKey(), b.regionKey()))
	})
	out := make([]citadel.PlannedShard, 0, len(bins))
	for n, b := range bins {
		units := slices.Clone(b.units)
		slices.SortFunc(units, func(x, y *unit) int {
			rx, ry := regionAt[x.Region], regionAt[y.Region]
			if x.global {
				rx = len(regionAt)
			}
			if y.global {
				ry = len(regionAt)
			}
			return cmp.Or(cmp.Compare(rx, ry), cmp.Compare(x.Group, y.Group))
		})
		var ids []string
		s := citadel.PlannedShard{Shard: citadel.Shard{ID: shardID(n), Regions: slices.Clone(b.regions)}}
		if len(s.Regions) == 0 {
			s.Regions = []string{first}
		}
		s.UnitChecks = make(map[string]int, len(units))
		for _, u := range units {
			s.Units = append(s.Units, u.ShardUnit)
			s.UnitChecks[u.Key()] = len(u.checks)
			ids = append(ids, u.checks...)
		}
		slices.Sort(ids)
		s.CheckIDs = slices.Compact(ids)
		s.Checks = len(s.CheckIDs)
		s.RegionsArg = strings.Join(s.Regions, " ")
		s.EstimatedSeconds = math.Round((b.seconds+overhead)*10) / 10
		out = append(out, s)
	}
	return out
}

// shardID is the id of the plan's shard at index n: s01, s02, ...
func shardID(n int) string { return fmt.Sprintf("s%02d", n+1) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
