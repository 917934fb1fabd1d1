package ddb

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResultOfSK(t *testing.T) {
	type split struct {
		Check, Asset string
		OK           bool
	}
	for _, tt := range []struct {
		sk   string
		want split
	}{
		{resultKey("int-1", "s3_bucket_versioning", "ast-abc").SK, split{"s3_bucket_versioning", "ast-abc", true}},
		{resultsOfCheckSKPrefix("s3_bucket_versioning"), split{"s3_bucket_versioning", "", false}},
		{"s3_x", split{"s3_x", "", false}},
		{"#ast-1", split{"", "ast-1", false}},
		{"", split{"", "", false}},
	} {
		c, a, ok := resultOfSK(tt.sk)
		if d := cmp.Diff(tt.want, split{c, a, ok}); d != "" {
			t.Errorf("resultOfSK(%q) (-want +got):\n%s", tt.sk, d)
		}
	}
}

// The current results of distinct checks are disjoint, ordered ranges of
// their integration's partition, whatever their names share.
func TestResultRangesDoNotOverlap(t *testing.T) {
	a, b := resultKey("int-1", "s3_bucket", "ast-z"), resultKey("int-1", "s3_bucket_versioning", "ast-a")
	if a.PK != b.PK || a.PK != resultsOfIntegrationPK("int-1") {
		t.Fatalf("partitions %q, %q; want both %q", a.PK, b.PK, resultsOfIntegrationPK("int-1"))
	}
	if !(a.SK < b.SK) {
		t.Errorf("%q sorts after %q: a check's range would overlap a longer name's", a.SK, b.SK)
	}
	if p := resultsOfCheckSKPrefix("s3_bucket"); len(b.SK) >= len(p) && b.SK[:len(p)] == p {
		t.Errorf("%q begins with the range of check s3_bucket (%q)", b.SK, p)
	}
}
