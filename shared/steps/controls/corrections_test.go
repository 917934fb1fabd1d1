package controls_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestLinkCorrectionsFollowNextScan: after a user removes s3_public → DCH-01
// and adds s3_public → MON-01, the next scan maps s3_public's results to
// MON-01 and no longer to DCH-01.
func TestLinkCorrectionsFollowNextScan(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.results["int-1"] = []citadel.CheckResult{
		result("int-1", "s3_public", "bucket-a", citadel.StatusPass),
		result("int-1", "s3_public", "bucket-b", citadel.StatusFail),
	}
	type share struct {
		Posture citadel.Posture
		Pass    int
		Fail    int
		Integ   bool // int-1 contributes
	}
	shares := func() map[string]share {
		t.Helper()
		out := map[string]share{}
		for _, scf := range []string{"IAC-01", "DCH-01", "MON-01"} {
			c, err := e.store.GetControl(ctx, citadel.AppliedControlIDForSCF("f1", scf))
			if citadel.IsNotFound(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			_, in := c.Integrations["int-1"]
			out[scf] = share{c.Posture, c.PassCount, c.FailCount, in}
		}
		return out
	}
	e.run(t, "int-1", "scn-1")
	before := map[string]share{
		"IAC-01": {citadel.PosturePartial, 1, 1, true},
		"DCH-01": {citadel.PosturePartial, 1, 1, true},
	}
	if d := cmp.Diff(before, shares()); d != "" {
		t.Fatalf("before the corrections (-want +got):\n%s", d)
	}
	for _, c := range []citadel.LinkCorrection{
		{CheckID: "s3_public", SCFID: "DCH-01", Action: citadel.LinkRemove, Reason: "public access is not data protection", By: "alice", At: t0},
		{CheckID: "s3_public", SCFID: "MON-01", Action: citadel.LinkAdd, Reason: "test only", By: "alice", At: t0},
	} {
		if err := e.store.PutLinkCorrection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e.run(t, "int-1", "scn-2")
	after := shares()
	if got := after["DCH-01"]; got.Integ || got.Pass+got.Fail != 0 {
		t.Errorf("DCH-01 after the removal = %+v; want no share of int-1", got)
	}
	if d := cmp.Diff(share{citadel.PosturePartial, 1, 1, true}, after["MON-01"]); d != "" {
		t.Errorf("MON-01 after the add (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before["IAC-01"], after["IAC-01"]); d != "" {
		t.Errorf("IAC-01, uncorrected (-want +got):\n%s", d)
	}
}
