package checkresults_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/jobs/exceptionsweep"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/exctest"
)

// TestRescanAfterRemarkWritesNothing: decisions re-marked without a scan
// (the exception sweep: exc-asset revoked, exc-req approved) rewrite the
// results with their history and a regression; the next scan, whose base
// digest still holds the old marks, finds the stored results already as it
// marks them: it writes no result, no history and sends no event.
func TestRescanAfterRemarkWritesNothing(t *testing.T) {
	ctx := context.Background()
	e := newExcEnv(t)
	e.scan(t, "scan-01", now)
	e.events() // drain the first scan's
	for id, a := range map[string]citadel.ExceptionAction{"exc-asset": citadel.ExceptionRevoke, "exc-req": citadel.ExceptionApprove} {
		if _, err := e.store.DecideException(ctx, id, citadel.ExceptionDecision{Action: a, By: exctest.Reviewer, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	sweep := &exceptionsweep.Handler{Store: e.store, Events: e.eb, EventBus: e.bus, Env: stepfn.Env{Clock: func() time.Time { return now }}}
	got, err := sweep.Remark(ctx, integ, publicCheck)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(exceptionsweep.Remarked{ResultsRemarked: 2, Regressions: 1}, got); d != "" {
		t.Errorf("remark (-want +got):\n%s", d)
	}
	var regressed []string
	for _, ev := range e.events() {
		regressed = append(regressed, fmt.Sprintf("%s b%02d %s→%s %s", ev.SecurityCheck, e.assetIndex(ev.Asset), ev.PreviousStatus, ev.Status, ev.ExceptionID))
	}
	sort.Strings(regressed)
	if d := cmp.Diff([]string{publicCheck + " b00 excepted→fail exc-asset"}, regressed); d != "" {
		t.Errorf("remark's events (-want +got):\n%s", d)
	}
	marks := e.marks(t)
	fail, excepted := citadel.StatusFail, citadel.StatusExcepted
	for key, want := range map[string]mark{publicCheck + " b00": {fail, fail, false, ""}, publicCheck + " b05": {fail, excepted, false, "exc-req"}} {
		if d := cmp.Diff(want, marks[key]); d != "" {
			t.Errorf("%s after the remark (-want +got):\n%s", key, d)
		}
	}

	out := e.scan(t, "scan-02", now)
	if out.ResultsUpdated != 0 || out.ResultsCreated != 0 || out.HistoryEntriesCreated != 0 || out.RegressionEvents != 0 || out.ResultsUnchanged != len(excCases) {
		t.Errorf("rescan after the remark: %+v, want every result unchanged", out)
	}
	if evs := e.events(); len(evs) != 0 {
		t.Errorf("rescan after the remark sent %+v", evs)
	}
	for _, tc := range []struct {
		asset int
		want  [][2]citadel.CheckStatus
	}{
		{0, [][2]citadel.CheckStatus{{"", excepted}, {excepted, fail}}},
		{5, [][2]citadel.CheckStatus{{"", fail}, {fail, excepted}}},
	} {
		if d := cmp.Diff(tc.want, e.history(t, publicCheck, tc.asset)); d != "" {
			t.Errorf("history of b%02d (-want +got):\n%s", tc.asset, d)
		}
	}
}
