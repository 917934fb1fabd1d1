package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// TestEvidenceShowsTheException: an evidence record whose result an
// exception covers shows it (exception_id, result excepted), its revisions
// each the decision they recorded (the approval, then the revocation), as
// openapi.yaml says, and the chain, whose hashes cover the decisions, holds.
func TestEvidenceShowsTheException(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := "ev-x"
	e := seedEvidence(t, f, id)
	exc := citadel.Exception{ID: "exc-0001", FolderID: testFolder, IntegrationID: "int-0001", CheckID: e.CheckID,
		Scope: citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, Justification: "public website", Owner: "web team",
		RequestedBy: "alice", RequestedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour), Status: citadel.ExceptionApproved,
		DecidedBy: "bob", DecidedAt: t0.Add(time.Hour), DecisionNote: "until the migration",
		History: []citadel.ExceptionTransition{{To: citadel.ExceptionRequested, By: "alice", At: t0},
			{From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "bob", At: t0.Add(time.Hour), Note: "until the migration"}}}
	revs, err := f.store.EvidenceRevisions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	last := revs[0]
	for i, x := range []citadel.RevisionException{exc.RecordDecision(true, t0.Add(2*time.Hour)), exc.RecordDecision(false, exc.ExpiresAt)} {
		rev := citadel.NewExceptionRevision(id, last.Number+1, "scan-0002", last.RawOutput, &x, &last, t0.Add(time.Duration(i+2)*time.Hour))
		w := ddb.EvidenceWrite{PrevRevisionCount: e.RevisionCount, PrevStatus: e.Status}
		e.RevisionCount, e.LatestHash = rev.Number, rev.Hash
		e.ResultStatus, e.ExceptionID = citadel.StatusExcepted, exc.ID
		if !x.Applies {
			e.ResultStatus, e.ExceptionID = citadel.StatusFail, ""
		}
		w.Evidence, w.Revision = e, &rev
		if c, err := f.store.WriteEvidence(ctx, []ddb.EvidenceWrite{w}); err != nil || len(c) > 0 {
			t.Fatalf("revision %d: %v %v", rev.Number, c, err)
		}
		if x.Applies {
			rec := f.do("GET", "/evidence/"+id, "")
			expect(t, rec, http.StatusOK, "", "")
			d := decodeBody[EvidenceDetail](t, rec)
			if d.Evidence.ExceptionID != exc.ID || d.Evidence.ResultStatus != citadel.StatusExcepted {
				t.Errorf("excepted evidence shows exception %q, result %s", d.Evidence.ExceptionID, d.Evidence.ResultStatus)
			}
		}
		last = rev
	}
	rec := f.do("GET", "/evidence/"+id, "")
	expect(t, rec, http.StatusOK, "", "")
	golden(t, "evidence_detail_exception", rec.Body.Bytes())
	d := decodeBody[EvidenceDetail](t, rec)
	if d.ChainBreak != nil {
		t.Errorf("chain with exceptions reported broken: %+v", d.ChainBreak)
	}
	var got []string
	for _, r := range d.Revisions {
		s := "none"
		if r.Exception != nil {
			s = string(r.Exception.Status) + " by " + r.Exception.DecidedBy
		}
		got = append(got, s)
	}
	if diff := cmp.Diff([]string{"expired by citadel", "approved by bob", "none", "none"}, got); diff != "" {
		t.Errorf("revisions' exceptions, newest first (-want +got):\n%s", diff)
	}
}
