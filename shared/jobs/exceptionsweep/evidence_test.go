package exceptionsweep_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/exctest"
)

// evidenceOf stores the evidence record of result n of check (one
// revision of its content, approved by an auditor) and returns its id.
func (e *env) evidenceOf(n int) string {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.store.GetResult(ctx, integ, check, assetID(n))
	if err != nil {
		e.t.Fatal(err)
	}
	id := citadel.EvidenceID(integ, check, assetID(n))
	rev := citadel.NewRevision(id, 1, r.ScanID, r.RawOutput, nil, t0)
	ev := citadel.Evidence{ID: id, FolderID: "f1", SourceIntegration: integ, CheckID: check, AssetID: assetID(n),
		Name: "bucket: encryption", Origin: citadel.OriginScan, Status: citadel.EvidenceInReview, IsContinuous: true,
		AssetSourceID: arn(n), ResultStatus: r.Status, RevisionCount: 1, LatestHash: rev.Hash, ResultContentHash: r.ContentHash,
		CreatedAt: t0, UpdatedAt: t0}
	if c, err := e.store.WriteEvidence(ctx, []ddb.EvidenceWrite{{Evidence: ev, Revision: &rev, Create: true}}); err != nil || len(c) != 0 {
		e.t.Fatalf("evidence of result %d: %v, %v", n, c, err)
	}
	if _, err := e.store.ReviewEvidence(ctx, id, citadel.EvidenceReview{By: "auditor", Decision: citadel.ReviewApprove, Comment: "ok", At: t0}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// TestRemarksReviseEvidence: each decision the sweep carries into a
// failing result (approval, revocation, another exception's approval, its
// expiry) is a revision of the result's evidence recording it, chained;
// a remark with nothing to change and a passing result's record get none.
func TestRemarksReviseEvidence(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	failing, passing := e.evidenceOf(0), e.evidenceOf(2)
	passed, _ := e.store.GetEvidence(ctx, passing)

	exc1 := e.exception("exc-1", 30*day, citadel.ExceptionApproved)
	out, err := e.sweeper(at(time.Minute), nil).Remark(ctx, integ, check)
	if err != nil || out.EvidenceRevised != 1 { // result 1 has no record: its scan makes it
		t.Fatalf("approval: %+v, %v; want 1 evidence revised", out, err)
	}
	if again, err := e.sweeper(at(2*time.Minute), nil).Remark(ctx, integ, check); err != nil || again.EvidenceRevised != 0 {
		t.Errorf("second remark: %+v, %v; want no revision", again, err)
	}
	revoked, err := e.store.DecideException(ctx, exc1.ID, citadel.ExceptionDecision{Action: citadel.ExceptionRevoke, By: "ciso", At: t0.Add(time.Hour), Note: "data found"})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.sweeper(at(2*time.Hour), nil).Remark(ctx, integ, check); err != nil || out.EvidenceRevised != 1 {
		t.Fatalf("revocation: %+v, %v", out, err)
	}
	exc2 := e.exception("exc-2", 10*day, citadel.ExceptionApproved)
	if out, err := e.sweeper(at(3*time.Hour), nil).Remark(ctx, integ, check); err != nil || out.EvidenceRevised != 1 {
		t.Fatalf("second exception: %+v, %v", out, err)
	}
	if out, err := e.sweeper(at(11*day), nil).Sweep(ctx, t0.Add(11*day)); err != nil || out.Expired != 1 || out.EvidenceRevised != 1 {
		t.Fatalf("expiry: %+v, %v", out, err)
	}

	revs, err := e.store.EvidenceRevisions(ctx, failing)
	if err != nil {
		t.Fatal(err)
	}
	type rev struct {
		Number    int
		ScanID    string
		Exception *citadel.RevisionException
	}
	x := func(exc citadel.Exception, applies bool, now time.Time) *citadel.RevisionException {
		d := exc.RecordDecision(applies, now)
		return &d
	}
	want := []rev{
		{5, "scan-01", x(exc2, false, t0.Add(11*day))},
		{4, "scan-01", x(exc2, true, t0)},
		{3, "scan-01", x(revoked, false, t0)},
		{2, "scan-01", x(exc1, true, t0)},
		{1, "scan-01", nil},
	}
	var got []rev
	for _, r := range revs {
		got = append(got, rev{r.Number, r.ScanID, r.Exception})
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("revisions, newest first (-want +got):\n%s", d)
	}
	for _, c := range []struct {
		n      int
		status citadel.ExceptionStatus
		by     string
	}{{5, citadel.ExceptionExpired, citadel.ExceptionSweeper}, {3, citadel.ExceptionRevoked, "ciso"}, {2, citadel.ExceptionApproved, exctest.Reviewer}} {
		if x := got[len(got)-c.n].Exception; x.Status != c.status || x.DecidedBy != c.by {
			t.Errorf("revision %d records %s by %s; want %s by %s", c.n, x.Status, x.DecidedBy, c.status, c.by)
		}
	}
	if b, err := e.store.VerifyEvidence(ctx, failing); err != nil || b != nil {
		t.Errorf("verify: %v, %v", b, err)
	}
	ev, _ := e.store.GetEvidence(ctx, failing)
	if ev.ExceptionID != "" || ev.ResultStatus != citadel.StatusFail || ev.Status != citadel.EvidenceInReview {
		t.Errorf("record after the expiry: exception %q, result %s, %s; want none, fail, in_review", ev.ExceptionID, ev.ResultStatus, ev.Status)
	}
	if after, _ := e.store.GetEvidence(ctx, passing); !cmp.Equal(passed, after) {
		t.Errorf("the passing result's record changed: %s", cmp.Diff(passed, after))
	}
}
