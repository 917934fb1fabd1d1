package citadel_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestShardUnitKey(t *testing.T) {
	for _, u := range []citadel.ShardUnit{{Region: "us-east-1", Group: "compute"}, {Region: citadel.ShardGlobalRegion, Group: "identity"}} {
		got, err := citadel.ParseShardUnit(u.Key())
		if err != nil {
			t.Fatalf("%s: %v", u.Key(), err)
		}
		if d := cmp.Diff(u, got); d != "" {
			t.Errorf("round trip of %s (-want +got):\n%s", u.Key(), d)
		}
	}
	for _, bad := range []string{"", "us-east-1", "/compute", "us-east-1/", "us-east-1/a/b"} {
		if _, err := citadel.ParseShardUnit(bad); !citadel.IsInvalid(err) {
			t.Errorf("ParseShardUnit(%q) = %v, want an invalid-input error", bad, err)
		}
	}
}

func TestShardPrefix(t *testing.T) {
	if got, want := citadel.ShardPrefix("scan-1", "s03"), citadel.ScanObjectKey("scan-1", "shards/s03")+"/"; got != want {
		t.Errorf("ShardPrefix = %q, want %q", got, want)
	}
}
