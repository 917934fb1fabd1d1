package plan_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	prowlercatalog "github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/plan"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// seventeen regions: the scale the payload and the planner are sized for.
var seventeen = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
	"eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "sa-east-1"}

var (
	realOnce   sync.Once
	realChecks []citadel.SecurityCheck
	realErr    error
)

// realMapped is the reference catalog's mapped, live checks (what the plan
// step gets from ListMappedChecks).
func realMapped(t *testing.T) []citadel.SecurityCheck {
	t.Helper()
	dir := testenv.SharedData(t)
	realOnce.Do(func() {
		p, err := prowlercatalog.LoadProwler(os.DirFS(filepath.Join(dir, "prowler")), "")
		if err != nil {
			realErr = err
			return
		}
		for _, c := range p.Checks {
			if len(c.MappedRequirements) > 0 && !c.Deprecated {
				realChecks = append(realChecks, c)
			}
		}
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realChecks
}

func check(id, service string) citadel.SecurityCheck {
	return citadel.SecurityCheck{ID: id, Service: service}
}

// small: five checks, two of them global.
var small = []citadel.SecurityCheck{
	check("ec2_ebs_default_encryption", "ec2"), check("s3_bucket_default_encryption", "s3"),
	check("iam_root_mfa_enabled", "iam"), check("cloudfront_distributions_https_enabled", "cloudfront"),
	check("rds_instance_storage_encrypted", "rds"),
}

// assertCovers holds the invariant: every regional check runs in each
// region exactly once, every global check once in a shard covering the
// first region; a shard's units are its checks and regions, no more.
func assertCovers(t *testing.T, shards []citadel.PlannedShard, checks []citadel.SecurityCheck, regions []string) {
	t.Helper()
	runs := map[string]int{} // "<check> <region>" or "<check> global"
	for _, s := range shards {
		if s.Checks != len(s.CheckIDs) || s.RegionsArg != strings.Join(s.Regions, " ") || len(s.Regions) == 0 {
			t.Errorf("shard %s: checks %d of %d ids, regions %q arg %q", s.ID, s.Checks, len(s.CheckIDs), s.Regions, s.RegionsArg)
		}
		inShard := map[string]bool{}
		for _, id := range s.CheckIDs {
			inShard[id] = true
		}
		unitChecks := map[string]bool{}
		for _, c := range checks {
			if !inShard[c.ID] {
				continue
			}
			g, global := citadel.ShardGroupOf(c.Service)
			if global {
				runs[c.ID+" global"]++
				if !slices.Contains(s.Regions, regions[0]) {
					t.Errorf("shard %s runs global check %s without the first region %s: %q", s.ID, c.ID, regions[0], s.Regions)
				}
				if !slices.Contains(s.Units, citadel.ShardUnit{Region: citadel.ShardGlobalRegion, Group: g}) {
					t.Errorf("shard %s runs %s without its unit global/%s", s.ID, c.ID, g)
				}
				unitChecks[citadel.ShardGlobalRegion+"/"+g] = true
				continue
			}
			for _, r := range s.Regions {
				runs[c.ID+" "+r]++
				if !slices.Contains(s.Units, citadel.ShardUnit{Region: r, Group: g}) {
					t.Errorf("shard %s runs %s in %s without its unit %s/%s", s.ID, c.ID, r, r, g)
				}
				unitChecks[r+"/"+g] = true
			}
		}
		for _, u := range s.Units {
			if !unitChecks[u.Key()] || s.UnitChecks[u.Key()] == 0 {
				t.Errorf("shard %s lists unit %s, which runs none of its checks (%d counted)", s.ID, u.Key(), s.UnitChecks[u.Key()])
			}
		}
		if len(s.UnitChecks) != len(s.Units) {
			t.Errorf("shard %s counts the checks of %d units, has %d", s.ID, len(s.UnitChecks), len(s.Units))
		}
	}
	want := 0
	for _, c := range checks {
		if _, global := citadel.ShardGroupOf(c.Service); global {
			want++
			if runs[c.ID+" global"] != 1 {
				t.Errorf("global check %s runs %d times", c.ID, runs[c.ID+" global"])
			}
			continue
		}
		for _, r := range regions {
			want++
			if runs[c.ID+" "+r] != 1 {
				t.Errorf("check %s runs %d times in %s", c.ID, runs[c.ID+" "+r], r)
			}
		}
	}
	if got := len(runs); got != want {
		t.Errorf("%d check runs, want %d", got, want)
	}
}

func TestPlanShardsSmallAccount(t *testing.T) {
	shards, err := plan.PlanShards(small, []string{"eu-west-1"}, nil, plan.DefaultShardLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := []citadel.PlannedShard{{
		Shard: citadel.Shard{ID: "s01", Regions: []string{"eu-west-1"}, RegionsArg: "eu-west-1",
			Units: []citadel.ShardUnit{{Region: "eu-west-1", Group: "compute"}, {Region: "eu-west-1", Group: "database"},
				{Region: "eu-west-1", Group: "storage"}, {Region: citadel.ShardGlobalRegion, Group: "edge"}, {Region: citadel.ShardGlobalRegion, Group: "identity"}},
			Checks: 5, EstimatedSeconds: 5*plan.DefaultShardLimits.DefaultCheckSeconds + plan.DefaultShardLimits.ShardOverheadSeconds},
		CheckIDs: []string{"cloudfront_distributions_https_enabled", "ec2_ebs_default_encryption", "iam_root_mfa_enabled",
			"rds_instance_storage_encrypted", "s3_bucket_default_encryption"},
		UnitChecks: map[string]int{"eu-west-1/compute": 1, "eu-west-1/database": 1, "eu-west-1/storage": 1, "global/edge": 1, "global/identity": 1},
	}}
	if d := cmp.Diff(want, shards); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestPlanShards: the invariant, the target and the cap over small and
// real inputs.
func TestPlanShards(t *testing.T) {
	real := realMapped(t)
	limits := func(max int, target, perCheck float64) plan.ShardLimits {
		return plan.ShardLimits{MaxShards: max, TargetSeconds: target, DefaultCheckSeconds: perCheck, ShardOverheadSeconds: 60}
	}
	cases := []struct {
		name      string
		checks    []citadel.SecurityCheck
		regions   []string
		limits    plan.ShardLimits
		shards    int // exact when > 0
		maxShards int // at most
	}{
		{name: "small account, one region: one shard", checks: small, regions: []string{"us-east-1"}, limits: plan.DefaultShardLimits, shards: 1},
		{name: "small account, two regions: one shard", checks: small, regions: []string{"us-east-1", "eu-west-1"}, limits: plan.DefaultShardLimits, shards: 1},
		{name: "small, each unit over the target: a shard per regional unit, globals riding", checks: small, regions: []string{"us-east-1", "eu-west-1"},
			limits: limits(40, 100, 1000), shards: 3*2 + 2},
		{name: "small, capped at 3", checks: small, regions: []string{"us-east-1", "eu-west-1"}, limits: limits(3, 100, 1000), shards: 3},
		{name: "real catalog, 17 regions, defaults", checks: real, regions: seventeen, limits: plan.DefaultShardLimits, maxShards: plan.DefaultShardLimits.MaxShards},
		{name: "real catalog, 17 regions, capped at 1", checks: real, regions: seventeen, limits: limits(1, 600, 2), shards: 1},
		{name: "real catalog, 17 regions, capped at 7", checks: real, regions: seventeen, limits: limits(7, 600, 2), shards: 7},
		{name: "real catalog, one region", checks: real, regions: []string{"eu-central-1"}, limits: plan.DefaultShardLimits, maxShards: 3},
		{name: "real catalog, 17 regions, short shards", checks: real, regions: seventeen, limits: limits(500, 300, 2), maxShards: 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shards, err := plan.PlanShards(tc.checks, tc.regions, nil, tc.limits)
			if err != nil {
				t.Fatal(err)
			}
			assertCovers(t, shards, tc.checks, tc.regions)
			if tc.shards > 0 && len(shards) != tc.shards || tc.maxShards > 0 && len(shards) > tc.maxShards {
				t.Errorf("%d shards, want %d (at most %d)", len(shards), tc.shards, tc.maxShards)
			}
			for i, s := range shards {
				if want := fmt.Sprintf("s%02d", i+1); s.ID != want {
					t.Errorf("shard %d is %s, want %s", i, s.ID, want)
				}
				// Under the cap, only a unit alone may pass the target.
				if len(shards) < tc.limits.MaxShards && s.EstimatedSeconds > tc.limits.TargetSeconds && len(s.Units) > 1+globalUnits(s) {
					t.Errorf("shard %s: %.0f s of %d units over the %.0f s target", s.ID, s.EstimatedSeconds, len(s.Units), tc.limits.TargetSeconds)
				}
			}
			t.Logf("%d shards", len(shards))
		})
	}
}

func globalUnits(s citadel.PlannedShard) int {
	n := 0
	for _, u := range s.Units {
		if u.Region == citadel.ShardGlobalRegion {
			n++
		}
	}
	return n
}

// TestPlanShardsRandom: the invariant and the cap hold over random
// catalogs, regions and limits.
func TestPlanShardsRandom(t *testing.T) {
	real := realMapped(t)
	rng := rand.New(rand.NewPCG(18, 2026))
	for i := range 300 {
		checks := slices.Clone(real)
		rng.Shuffle(len(checks), func(a, b int) { checks[a], checks[b] = checks[b], checks[a] })
		checks = checks[:1+rng.IntN(len(checks))]
		regions := slices.Clone(seventeen)
		rng.Shuffle(len(regions), func(a, b int) { regions[a], regions[b] = regions[b], regions[a] })
		regions = regions[:1+rng.IntN(len(regions))]
		limits := plan.ShardLimits{MaxShards: 1 + rng.IntN(60), TargetSeconds: 100 + rng.Float64()*3000, DefaultCheckSeconds: 0.5 + rng.Float64()*5}
		previous := citadel.ShardDurations{}
		for _, r := range regions[:rng.IntN(len(regions))] {
			previous[r+"/compute"] = rng.Float64() * 2000
		}
		shards, err := plan.PlanShards(checks, regions, previous, limits)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if len(shards) > limits.MaxShards {
			t.Errorf("case %d: %d shards over the cap %d", i, len(shards), limits.MaxShards)
		}
		assertCovers(t, shards, checks, regions)
		if t.Failed() {
			t.Fatalf("case %d: %d checks, regions %q, limits %+v", i, len(checks), regions, limits)
		}
	}
}

// TestPlanShardsDeterministic: the same input in another order is the same
// plan.
func TestPlanShardsDeterministic(t *testing.T) {
	real := realMapped(t)
	first, err := plan.PlanShards(real, seventeen, nil, plan.DefaultShardLimits)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(real)
	slices.Reverse(shuffled)
	again, err := plan.PlanShards(shuffled, seventeen, nil, plan.DefaultShardLimits)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(first, again); d != "" {
		t.Errorf("another check order, another plan (-first +again):\n%s", d)
	}
}

// TestPlanShardsPreviousDurations: a recorded duration replaces the
// estimate: a unit measured long gets a shard of its own, units measured
// short pack together.
func TestPlanShardsPreviousDurations(t *testing.T) {
	regions := []string{"us-east-1", "eu-west-1"}
	limits := plan.ShardLimits{MaxShards: 10, TargetSeconds: 1000, DefaultCheckSeconds: 1, ShardOverheadSeconds: 0}
	cases := []struct {
		name     string
		previous citadel.ShardDurations
		want     [][]string // each shard's unit keys
		seconds  []float64
	}{
		{name: "no record: one shard", want: [][]string{{"us-east-1/compute", "us-east-1/database", "us-east-1/storage",
			"eu-west-1/compute", "eu-west-1/database", "eu-west-1/storage", "global/edge", "global/identity"}}, seconds: []float64{8}},
		{name: "compute in eu-west-1 took long", previous: citadel.ShardDurations{"eu-west-1/compute": 995},
			want: [][]string{{"us-east-1/compute", "us-east-1/database", "us-east-1/storage", "global/edge", "global/identity"},
				{"eu-west-1/compute", "eu-west-1/database", "eu-west-1/storage"}},
			seconds: []float64{5, 997}},
		{name: "compute in eu-west-1 took too long to share", previous: citadel.ShardDurations{"eu-west-1/compute": 999.5},
			want: [][]string{{"us-east-1/compute", "us-east-1/database", "us-east-1/storage", "global/edge", "global/identity"},
				{"eu-west-1/compute"}, {"eu-west-1/database", "eu-west-1/storage"}},
			seconds: []float64{5, 999.5, 2}},
		{name: "a global unit took long", previous: citadel.ShardDurations{"global/identity": 900, "us-east-1/storage": 200},
			want: [][]string{{"us-east-1/compute", "us-east-1/database", "us-east-1/storage", "eu-west-1/compute", "eu-west-1/database", "eu-west-1/storage"},
				{"global/edge", "global/identity"}},
			seconds: []float64{205, 901}},
		{name: "bad records are estimates", previous: citadel.ShardDurations{"us-east-1/compute": math.NaN(), "eu-west-1/compute": -5},
			want: [][]string{{"us-east-1/compute", "us-east-1/database", "us-east-1/storage",
				"eu-west-1/compute", "eu-west-1/database", "eu-west-1/storage", "global/edge", "global/identity"}}, seconds: []float64{8}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shards, err := plan.PlanShards(small, regions, tc.previous, limits)
			if err != nil {
				t.Fatal(err)
			}
			assertCovers(t, shards, small, regions)
			var got [][]string
			var seconds []float64
			for _, s := range shards {
				var keys []string
				for _, u := range s.Units {
					keys = append(keys, u.Key())
				}
				got = append(got, keys)
				seconds = append(seconds, s.EstimatedSeconds)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("units (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.seconds, seconds); d != "" {
				t.Errorf("estimates (-want +got):\n%s", d)
			}
		})
	}
}

func TestPlanShardsRefusals(t *testing.T) {
	good := plan.DefaultShardLimits
	with := func(f func(*plan.ShardLimits)) plan.ShardLimits { l := good; f(&l); return l }
	cases := []struct {
		name    string
		checks  []citadel.SecurityCheck
		regions []string
		limits  plan.ShardLimits
		msg     string
	}{
		{name: "no regions", checks: small, limits: good, msg: "plan shards: no regions to scan"},
		{name: "a bad region", checks: small, regions: []string{"us-east-1", "mars-1"}, limits: good, msg: `plan shards: region "mars-1" is not an AWS region name`},
		{name: "a region twice", checks: small, regions: []string{"us-east-1", "us-east-1"}, limits: good, msg: "plan shards: region us-east-1 is listed twice"},
		{name: "no checks", regions: []string{"us-east-1"}, limits: good, msg: "plan shards: no checks to run"},
		{name: "a check without an id", checks: []citadel.SecurityCheck{check("", "ec2")}, regions: []string{"us-east-1"}, limits: good,
			msg: `plan shards: a check of service "ec2" has no id`},
		{name: "a check without a service", checks: []citadel.SecurityCheck{check("ec2_x", "")}, regions: []string{"us-east-1"}, limits: good,
			msg: "plan shards: check ec2_x has no service"},
		{name: "a check of two services", checks: []citadel.SecurityCheck{check("x_y", "ec2"), check("x_y", "s3")}, regions: []string{"us-east-1"}, limits: good,
			msg: "plan shards: check x_y is of services ec2 and s3"},
		{name: "no shards", checks: small, regions: []string{"us-east-1"}, limits: with(func(l *plan.ShardLimits) { l.MaxShards = 0 }),
			msg: "shard limits: max shards 0 is not 1 to 500"},
		{name: "too many shards", checks: small, regions: []string{"us-east-1"}, limits: with(func(l *plan.ShardLimits) { l.MaxShards = 501 }),
			msg: "shard limits: max shards 501 is not 1 to 500"},
		{name: "no target", checks: small, regions: []string{"us-east-1"}, limits: with(func(l *plan.ShardLimits) { l.TargetSeconds = 0 }),
			msg: "shard limits: target seconds 0 is not a positive number"},
		{name: "an infinite target", checks: small, regions: []string{"us-east-1"}, limits: with(func(l *plan.ShardLimits) { l.TargetSeconds = math.Inf(1) }),
			msg: "shard limits: target seconds +Inf is not a positive number"},
		{name: "no check time", checks: small, regions: []string{"us-east-1"}, limits: with(func(l *plan.ShardLimits) { l.DefaultCheckSeconds = math.NaN() }),
			msg: "shard limits: default check seconds NaN is not a positive number"},
		{name: "overhead past the target", checks: small, regions: []string{"us-east-1"}, limits: with(func(l *plan.ShardLimits) { l.ShardOverheadSeconds = 1200 }),
			msg: "shard limits: shard overhead 1200 seconds is not 0 to the target's 1200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shards, err := plan.PlanShards(tc.checks, tc.regions, nil, tc.limits)
			if !citadel.IsInvalid(err) || err.Error() != tc.msg {
				t.Errorf("error %v (%d shards), want invalid input %q", err, len(shards), tc.msg)
			}
		})
	}
}

// TestRealCatalogServicesHaveGroups: every service of the reference
// catalog is in the group table (a new one would be a group of its own:
// correct, but worth placing).
func TestRealCatalogServicesHaveGroups(t *testing.T) {
	groups := citadel.ShardGroups()
	var missing []string
	for _, c := range realMapped(t) {
		if _, ok := groups[c.Service]; !ok && !slices.Contains(missing, c.Service) {
			missing = append(missing, c.Service)
		}
	}
	if len(missing) > 0 {
		t.Errorf("services without a group in shared/citadel/shardgroups.go: %q", missing)
	}
}
