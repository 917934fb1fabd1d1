package citadel_test

import (
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestShardGroupsAreGlobalOrRegional: a group holds global services only or
// regional ones only, so a unit is either of ShardGlobalRegion or of a region.
func TestShardGroupsAreGlobalOrRegional(t *testing.T) {
	global := map[string]bool{}
	seen := map[string]string{}
	for svc := range citadel.ShardGroups() {
		g, isGlobal := citadel.ShardGroupOf(svc)
		if prev, ok := seen[g]; ok && global[g] != isGlobal {
			t.Errorf("group %s holds %s (global %v) and %s (global %v)", g, svc, isGlobal, prev, global[g])
		}
		seen[g], global[g] = svc, isGlobal
	}
	for _, svc := range []string{"iam", "organizations", "cloudfront", "route53", "shield", "trustedadvisor", "account", "fms", "globalaccelerator"} {
		if g, isGlobal := citadel.ShardGroupOf(svc); !isGlobal || g == "" {
			t.Errorf("ShardGroupOf(%s) = %q, %v; want a global group", svc, g, isGlobal)
		}
	}
}

func TestShardGroupOfUnknownService(t *testing.T) {
	cases := []struct{ service, group string }{
		{"ec2", "compute"},
		{"newservice", "newservice"},
		{"compute", "other-compute"}, // not mixed into the table's group
		{"identity", "other-identity"},
	}
	for _, tc := range cases {
		if g, global := citadel.ShardGroupOf(tc.service); g != tc.group || global {
			t.Errorf("ShardGroupOf(%s) = %q, %v; want %q, regional", tc.service, g, global, tc.group)
		}
	}
}
