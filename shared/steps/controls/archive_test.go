package controls_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

type postureCounts struct {
	Posture citadel.Posture
	Counts  [3]int
}

func (e *env) postures(t *testing.T) map[string]postureCounts {
	t.Helper()
	out := map[string]postureCounts{}
	for ref, v := range e.view(t) {
		out[ref] = postureCounts{v.Posture, v.Counts}
	}
	return out
}

// An integration's failing results make a control's issues; removing the
// integration from the folder's controls (what deleting it does,
// ddb.Store.RemoveIntegrationFromControls) takes exactly its counts out and
// recomputes the posture from what the other integration found; a control
// only it made has nothing left (not_scanned).
func TestRemovingAnIntegrationLeavesTheOthersCounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.results["int-gone"] = []citadel.CheckResult{
		result("int-gone", "s3_public", "bucket-1", citadel.StatusFail),
		result("int-gone", "s3_public", "bucket-2", citadel.StatusFail),
		result("int-gone", "iam_rotate", "user-1", citadel.StatusFail),
	}
	e.results["int-kept"] = []citadel.CheckResult{
		result("int-kept", "s3_public", "bucket-9", citadel.StatusPass),
	}
	e.run(t, "int-gone", "scn-1")
	e.run(t, "int-kept", "scn-2")
	before := e.postures(t)
	for ref, want := range map[string]postureCounts{
		"SCF-IAC-01":       {citadel.PosturePartial, [3]int{1, 2, 0}},
		"REQ-CIS_3.0-1.14": {citadel.PostureIssues, [3]int{0, 1, 0}},
	} {
		if d := cmp.Diff(want, before[ref]); d != "" {
			t.Fatalf("%s before (-want +got):\n%s", ref, d)
		}
	}

	n, err := e.store.RemoveIntegrationFromControls(ctx, "f1", "int-gone", t0)
	if err != nil {
		t.Fatal(err)
	}
	after := e.postures(t)
	want := map[string]postureCounts{}
	changed := 0
	for ref, p := range before {
		want[ref] = p
		switch p.Counts {
		case [3]int{0, 2, 0}, [3]int{0, 1, 0}: // only int-gone's
			want[ref], changed = postureCounts{citadel.PostureNotScanned, [3]int{}}, changed+1
		case [3]int{1, 2, 0}: // shared with int-kept's pass
			want[ref], changed = postureCounts{citadel.PosturePassing, [3]int{1, 0, 0}}, changed+1
		}
	}
	if d := cmp.Diff(want, after); d != "" {
		t.Errorf("postures after removing int-gone (-want +got):\n%s", d)
	}
	if n != changed || n == 0 {
		t.Errorf("changed %d controls, want %d", n, changed)
	}
	// Again: nothing left to remove.
	if n, err := e.store.RemoveIntegrationFromControls(ctx, "f1", "int-gone", t0); err != nil || n != 0 {
		t.Errorf("second removal: %d controls changed (%v), want 0", n, err)
	}
	// A later scan of the other integration keeps its counts as they are.
	e.run(t, "int-kept", "scn-3")
	if d := cmp.Diff(want, e.postures(t)); d != "" {
		t.Errorf("after a rescan of int-kept (-want +got):\n%s", d)
	}
}
