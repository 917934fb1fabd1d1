package citadel_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func approvedException() citadel.Exception {
	req := t0.Add(-48 * time.Hour)
	return citadel.Exception{ID: "exc-1", FolderID: "f1", IntegrationID: "int-1", CheckID: "s3_public",
		Scope: citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, Justification: "public website", Owner: "web team",
		RequestedBy: "alice", RequestedAt: req, ExpiresAt: t0.Add(30 * 24 * time.Hour), Status: citadel.ExceptionApproved,
		DecidedBy: "bob", DecidedAt: req.Add(time.Hour), DecisionNote: "ok for Q4",
		History: []citadel.ExceptionTransition{
			{From: "", To: citadel.ExceptionRequested, By: "alice", At: req},
			{From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "bob", At: req.Add(time.Hour), Note: "ok for Q4"},
		}}
}

func TestRecordDecision(t *testing.T) {
	a := approvedException()
	revoked := a
	revoked.Status = citadel.ExceptionRevoked
	revoked.History = append(slices.Clone(a.History), citadel.ExceptionTransition{From: citadel.ExceptionApproved, To: citadel.ExceptionRevoked, By: "carol", At: t0, Note: "site gone"})
	base := citadel.RevisionException{ID: "exc-1", Scope: a.Scope, Justification: "public website", Owner: "web team",
		RequestedBy: "alice", ExpiresAt: a.ExpiresAt}
	with := func(applies bool, st citadel.ExceptionStatus, by string, at time.Time, note string) citadel.RevisionException {
		x := base
		x.Applies, x.Status, x.DecidedBy, x.DecidedAt, x.Note = applies, st, by, at, note
		return x
	}
	tests := []struct {
		name    string
		e       citadel.Exception
		applies bool
		now     time.Time
		want    citadel.RevisionException
	}{
		{"approved, applying", a, true, t0, with(true, citadel.ExceptionApproved, "bob", a.DecidedAt, "ok for Q4")},
		{"revoked: the revocation", revoked, false, t0, with(false, citadel.ExceptionRevoked, "carol", t0, "site gone")},
		{"approved past its expiry reads expired", a, false, a.ExpiresAt, with(false, citadel.ExceptionExpired, citadel.ExceptionSweeper, a.ExpiresAt, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.e.RecordDecision(tt.applies, tt.now)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestEvidenceChainWithExceptions(t *testing.T) {
	raw := []byte(`{"status_code":"FAIL"}`)
	approved := approvedException().RecordDecision(true, t0)
	ended := approvedException().RecordDecision(false, approvedException().ExpiresAt)
	r1 := citadel.NewRevision("ev-1", 1, "scn-1", raw, nil, t0)
	r2 := citadel.NewExceptionRevision("ev-1", 2, "scn-1", raw, &approved, &r1, t0.Add(time.Hour))
	r3 := citadel.NewExceptionRevision("ev-1", 3, "scn-1", raw, &ended, &r2, t0.Add(2*time.Hour))
	revs := []citadel.EvidenceRevision{r1, r2, r3}
	if r1.ContentHash != citadel.ContentSHA256(raw) {
		t.Errorf("a revision without exception: content hash %s, want SHA-256 of the raw output", r1.ContentHash)
	}
	if r2.ContentHash == r1.ContentHash || r3.ContentHash == r2.ContentHash {
		t.Error("the exception's decision is not in the content hash")
	}
	if b := citadel.VerifyChain(revs); b != nil {
		t.Fatalf("intact chain reported broken: %+v", b)
	}
	tests := []struct {
		name   string
		tamper func([]citadel.EvidenceRevision)
		want   citadel.ChainBreak
	}{
		{"decider edited", func(r []citadel.EvidenceRevision) { x := *r[1].Exception; x.DecidedBy = "mallory"; r[1].Exception = &x },
			citadel.ChainBreak{Number: 2, Reason: "content or exception exc-1 does not match its content hash"}},
		{"expiry moved", func(r []citadel.EvidenceRevision) {
			x := *r[2].Exception
			x.ExpiresAt = x.ExpiresAt.AddDate(1, 0, 0)
			r[2].Exception = &x
		},
			citadel.ChainBreak{Number: 3, Reason: "content or exception exc-1 does not match its content hash"}},
		{"exception removed", func(r []citadel.EvidenceRevision) { r[1].Exception = nil },
			citadel.ChainBreak{Number: 2, Reason: "content does not match its content hash"}},
		{"exception added", func(r []citadel.EvidenceRevision) { r[0].Exception = &approved },
			citadel.ChainBreak{Number: 1, Reason: "content or exception exc-1 does not match its content hash"}},
		{"re-hashed decision", func(r []citadel.EvidenceRevision) {
			x := *r[1].Exception
			x.Note = "never approved"
			r[1].Exception = &x
			r[1].ContentHash = citadel.RevisionContentHash(r[1].RawOutput, &x)
		}, citadel.ChainBreak{Number: 2, Reason: "hash does not match previous hash and content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := slices.Clone(revs)
			tt.tamper(c)
			got := citadel.VerifyChain(c)
			if got == nil {
				t.Fatal("tampering not detected")
			}
			if d := cmp.Diff(tt.want, *got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	// The same decision in another time zone is the same content.
	local := approved
	local.DecidedAt = local.DecidedAt.In(time.FixedZone("X", 3600))
	if citadel.RevisionContentHash(raw, &local) != r2.ContentHash {
		t.Error("the content hash depends on the time zone of the decision")
	}
}
