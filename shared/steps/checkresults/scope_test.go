package checkresults

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/digest"
)

// What failed shards leave untouched and how a shard's duration is shared,
// without a store.

func planned(regions []string, units []string, checks ...string) *citadel.PlannedShard {
	ps := &citadel.PlannedShard{Shard: citadel.Shard{ID: "s01", Regions: regions}, CheckIDs: checks}
	for _, k := range units {
		u, err := citadel.ParseShardUnit(k)
		if err != nil {
			panic(err)
		}
		ps.Units = append(ps.Units, u)
	}
	return ps
}

func TestScopeCovers(t *testing.T) {
	s := scope{}
	s.add(planned([]string{"eu-west-1"}, []string{"eu-west-1/ec2", "eu-west-1/s3"}, "ec2_a", "s3_b"), idGroup)
	s.add(planned([]string{"us-east-1"}, []string{"global/iam"}, "iam_c"), idGroup)
	// Groups that are not the checks': every check of the shard is global.
	s.add(planned([]string{"us-east-1"}, []string{"global/identity", "us-east-1/compute"}, "account_d", "lambda_e"), idGroup)
	// The planner's groups, by the catalog's services: exact.
	byService := func(c string) []string {
		g, _ := citadel.ShardGroupOf(map[string]string{"iam_g": "iam", "awslambda_h": "awslambda"}[c])
		return []string{g}
	}
	s.add(planned([]string{"us-east-1"}, []string{"global/identity", "us-east-1/serverless"}, "iam_g", "awslambda_h"), byService)
	for _, tc := range []struct {
		check, region string
		want          bool
	}{
		{"ec2_a", "eu-west-1", true},
		{"ec2_a", "us-east-1", false},
		{"ec2_a", "", true}, // no region: in every region
		{"s3_b", "eu-west-1", true},
		{"iam_c", "us-east-1", true},
		{"iam_c", "ap-south-1", true},
		{"account_d", "eu-west-1", true},
		{"lambda_e", "ap-south-1", true},
		{"rds_f", "", false}, // no failed shard ran it
		{"iam_g", "eu-west-1", true},
		{"awslambda_h", "us-east-1", true},
		{"awslambda_h", "ap-south-1", false}, // a regional check of the shard's one region
	} {
		if got := s[tc.check].covers(tc.region); got != tc.want {
			t.Errorf("%s in %q: covered %t, want %t", tc.check, tc.region, got, tc.want)
		}
	}
}

func TestResultRegion(t *testing.T) {
	for _, tc := range []struct{ asset, arn, want string }{
		{"eu-west-1", "arn:aws:s3:::bucket", "eu-west-1"},
		{"", "arn:aws:ec2:us-east-1:123456789012:volume/v", "us-east-1"},
		{"global", "arn:aws:iam::123456789012:user/u", ""},
		{"", "arn:aws:s3:::bucket", ""},
		{"", "not-an-arn", ""},
	} {
		if got := resultRegion(tc.asset, tc.arn); got != tc.want {
			t.Errorf("resultRegion(%q, %q) = %q, want %q", tc.asset, tc.arn, got, tc.want)
		}
	}
}

func TestUnitSeconds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ps      *citadel.PlannedShard
		seconds float64
		want    citadel.ShardDurations
	}{
		{"by checks of each group", planned([]string{"us-east-1", "eu-west-1"}, []string{"us-east-1/ec2", "eu-west-1/ec2", "us-east-1/s3", "eu-west-1/s3"},
			"ec2_a", "ec2_b", "ec2_c", "s3_d"), 80,
			citadel.ShardDurations{"us-east-1/ec2": 30, "eu-west-1/ec2": 30, "us-east-1/s3": 10, "eu-west-1/s3": 10}},
		{"groups that are not services share equally", planned([]string{"us-east-1"}, []string{"us-east-1/compute", "us-east-1/storage"}, "ec2_a", "s3_b", "s3_c"), 9,
			citadel.ShardDurations{"us-east-1/compute": 4.5, "us-east-1/storage": 4.5}},
		{"no checks", planned([]string{"us-east-1"}, []string{"us-east-1/ec2", "us-east-1/s3"}), 10,
			citadel.ShardDurations{"us-east-1/ec2": 5, "us-east-1/s3": 5}},
		{"no units", planned([]string{"us-east-1"}, nil, "ec2_a"), 10, nil},
		{"the plan's counts", func() *citadel.PlannedShard {
			ps := planned([]string{"us-east-1"}, []string{"us-east-1/compute", "global/identity"}, "ec2_a", "iam_b", "iam_c")
			ps.UnitChecks = map[string]int{"us-east-1/compute": 1, "global/identity": 3}
			return ps
		}(), 40, citadel.ShardDurations{"us-east-1/compute": 10, "global/identity": 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, unitSeconds(tc.ps, tc.seconds, idGroup)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestWithCarried(t *testing.T) {
	es, checks := baseEntries([]res{{"b_check", 2, pass, false, 1, ""}, {"d_check", 1, fail, false, 2, ""}})
	carried, baseChecks := baseEntries([]res{{"a_check", 9, fail, false, 3, ""}, {"b_check", 1, pass, true, 4, ""}, {"c_check", 3, pass, false, 5, ""}})
	got, union := withCarried(es, checks, carried, baseChecks)
	if d := cmp.Diff([]string{"a_check", "b_check", "c_check", "d_check"}, union); d != "" {
		t.Errorf("checks (-want +got):\n%s", d)
	}
	if err := digest.Validate(union, got); err != nil {
		t.Fatal(err)
	}
	type kv struct {
		Check string
		Asset digest.Asset
		Hash  byte
	}
	var seen []kv
	for _, e := range got {
		seen = append(seen, kv{union[e.Check], e.Asset, e.Hash[0]})
	}
	want := []kv{{"a_check", testAsset(9), 3}, {"b_check", testAsset(1), 4}, {"b_check", testAsset(2), 1}, {"c_check", testAsset(3), 5}, {"d_check", testAsset(1), 2}}
	if d := cmp.Diff(want, seen); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
}

// TestFailedShardsStaySmall: however many shards fail and however many
// units they have, the output names a bounded list and counts them all.
func TestFailedShardsStaySmall(t *testing.T) {
	r := &run{}
	var units []string
	for i := 0; i < 200; i++ {
		units = append(units, fmt.Sprintf("region-%03d/group-%03d", i, i))
	}
	for i := 0; i < 80; i++ {
		ps := planned([]string{"us-east-1"}, units, "ec2_a", "s3_b")
		ps.ID = fmt.Sprintf("s%03d", i)
		r.fail(ps, strings.Repeat("x", 300))
	}
	b, _ := json.Marshal(r.out)
	if r.out.ShardsFailedCount != 80 || len(r.out.ShardsFailed) == 0 || len(r.out.ShardsFailed) > citadel.MaxShardsFailed || len(b) > 30<<10 {
		t.Errorf("%d failed, %d named, %d bytes", r.out.ShardsFailedCount, len(r.out.ShardsFailed), len(b))
	}
	if f := r.out.ShardsFailed[0]; len(f.Units) != maxListed || f.Checks != 2 || f.ShardID != "s000" {
		t.Errorf("first failure %+v", f)
	}
	r.buildScope()
	if !r.scope["ec2_a"].covers("region-199") {
		t.Error("the scope lost a unit the list leaves out")
	}
}
