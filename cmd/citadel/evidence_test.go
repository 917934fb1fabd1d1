package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/testkit/golden"
)

// TestPrintEvidenceExceptions: evidence show names the exception that
// covers the result and, per revision, the decision it recorded (the
// approval, then the revocation that ended it).
func TestPrintEvidenceExceptions(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	exc := citadel.Exception{ID: "exc-0001", Scope: citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, Justification: "public website",
		Owner: "web team", RequestedBy: "alice", ExpiresAt: t0.AddDate(0, 1, 0), Status: citadel.ExceptionApproved,
		History: []citadel.ExceptionTransition{{To: citadel.ExceptionRequested, By: "alice", At: t0},
			{From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "bob", At: t0.Add(time.Hour), Note: "until the migration"}}}
	approved := exc.RecordDecision(true, t0)
	revoked := exc
	revoked.Status = citadel.ExceptionRevoked
	revoked.History = append(revoked.History, citadel.ExceptionTransition{From: citadel.ExceptionApproved, To: citadel.ExceptionRevoked, By: "carol", At: t0.Add(5 * time.Hour)})
	ended := revoked.RecordDecision(false, t0)
	raw := []byte(`{"status_code":"FAIL"}`)
	r1 := citadel.NewRevision("ev-1", 1, "scan-0001", raw, nil, t0)
	r2 := citadel.NewExceptionRevision("ev-1", 2, "scan-0001", raw, &approved, &r1, t0.Add(2*time.Hour))
	r3 := citadel.NewExceptionRevision("ev-1", 3, "scan-0001", raw, &ended, &r2, t0.Add(6*time.Hour))
	ev := citadel.Evidence{ID: "ev-1", Name: "bucket-1: S3 bucket is not public", Status: citadel.EvidenceInReview,
		ResultStatus: citadel.StatusExcepted, ExceptionID: "exc-0001", CheckID: "s3_bucket_public_access", AssetName: "bucket-1",
		SourceIntegration: "int-0001", RevisionCount: 2, LatestHash: r2.Hash}
	for _, tc := range []struct {
		name string
		d    httpapi.EvidenceDetail
	}{
		{"evidence_show_excepted.txt", httpapi.EvidenceDetail{Evidence: ev, Revisions: []citadel.EvidenceRevision{r2, r1}}},
		{"evidence_show_exception_ended.txt", func() httpapi.EvidenceDetail {
			e := ev
			e.ResultStatus, e.ExceptionID, e.RevisionCount, e.LatestHash = citadel.StatusFail, "", 3, r3.Hash
			return httpapi.EvidenceDetail{Evidence: e, Revisions: []citadel.EvidenceRevision{r3, r2, r1}}
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := printEvidence(&out, tc.d); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tc.name, out.Bytes())
		})
	}
}
