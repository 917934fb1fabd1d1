package evidencechain_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/evidencechain"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestNeeded(t *testing.T) {
	rec := &citadel.Evidence{ResultContentHash: "h1", ExceptionID: "exc-1"}
	for _, tc := range []struct {
		name string
		e    *citadel.Evidence
		res  citadel.CheckResult
		hash string
		want bool
	}{
		{"no record yet", nil, citadel.CheckResult{}, "h1", true},
		{"unchanged", rec, citadel.CheckResult{ExceptionID: "exc-1"}, "h1", false},
		{"content changed", rec, citadel.CheckResult{ExceptionID: "exc-1"}, "h2", true},
		{"exception ended", rec, citadel.CheckResult{}, "h1", true},
		{"another exception", rec, citadel.CheckResult{ExceptionID: "exc-2"}, "h1", true},
	} {
		if got := evidencechain.Needed(tc.e, tc.res, tc.hash); got != tc.want {
			t.Errorf("%s: Needed = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// stored is an exception store of one exception, counting its reads.
type stored struct {
	e     citadel.Exception
	reads int
}

func (s *stored) GetException(_ context.Context, id string) (citadel.Exception, error) {
	s.reads++
	if id != s.e.ID {
		return citadel.Exception{}, citadel.NotFound("exception %s not found", id)
	}
	return s.e, nil
}

// TestDecisionsAndRevise: the decision recorded is the applying
// exception's, else the ended one's, read once; an exception no longer
// stored is its id alone; the revised record is excepted, in review again,
// and chained.
func TestDecisionsAndRevise(t *testing.T) {
	ctx := context.Background()
	exc := citadel.Exception{ID: "exc-1", Status: citadel.ExceptionRevoked, ExpiresAt: t0.AddDate(0, 1, 0),
		History: []citadel.ExceptionTransition{{To: citadel.ExceptionRequested, By: "a", At: t0}, {From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "b", At: t0},
			{From: citadel.ExceptionApproved, To: citadel.ExceptionRevoked, By: "c", At: t0.Add(time.Hour), Note: "no"}}}
	s := &stored{e: exc}
	d := evidencechain.NewDecisions(s, t0)
	rec := citadel.Evidence{ID: "ev-1", ExceptionID: "exc-1", Status: citadel.EvidenceApproved}
	for range 2 {
		x, err := d.For(ctx, &rec, citadel.CheckResult{Status: citadel.StatusFail})
		if err != nil {
			t.Fatal(err)
		}
		want := exc.RecordDecision(false, t0)
		if diff := cmp.Diff(&want, x); diff != "" {
			t.Errorf("ended exception (-want +got):\n%s", diff)
		}
	}
	if s.reads != 1 {
		t.Errorf("the exception was read %d times, want once", s.reads)
	}
	gone, err := d.For(ctx, nil, citadel.CheckResult{Status: citadel.StatusFail, ExceptionID: "exc-gone"})
	if err != nil || !cmp.Equal(gone, &citadel.RevisionException{ID: "exc-gone", Applies: true}) {
		t.Errorf("an exception no longer stored: %+v, %v", gone, err)
	}
	if x, err := d.For(ctx, &citadel.Evidence{}, citadel.CheckResult{Status: citadel.StatusPass}); x != nil || err != nil {
		t.Errorf("no exception: %+v, %v", x, err)
	}

	res := citadel.CheckResult{Status: citadel.StatusFail, ExceptionID: "exc-2", RawOutput: []byte(`{}`)}
	x := &citadel.RevisionException{ID: "exc-2", Applies: true, Status: citadel.ExceptionApproved}
	rec.RevisionCount, rec.LatestHash = 1, "prev"
	got, rev := evidencechain.Revise(rec, res, "h2", x, "scan-2", t0)
	want := rec
	want.RevisionCount, want.LatestHash, want.ResultContentHash, want.ResultStatus, want.ExceptionID = 2, rev.Hash, "h2", citadel.StatusExcepted, "exc-2"
	want.Status, want.UpdatedAt = citadel.EvidenceInReview, t0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("revised record (-want +got):\n%s", diff)
	}
	if rev.Number != 2 || rev.PrevHash != "prev" || rev.Exception != x || rev.ContentHash != citadel.RevisionContentHash(res.RawOutput, x) {
		t.Errorf("revision: %+v", rev)
	}
}
