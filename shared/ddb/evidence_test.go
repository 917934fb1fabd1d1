package ddb_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func newEvidence(id string, raw []byte) (citadel.Evidence, citadel.EvidenceRevision) {
	rev := citadel.NewRevision(id, 1, "scn-1", raw, nil, t0)
	return citadel.Evidence{
		ID: id, FolderID: "f1", SourceIntegration: "int-1", CheckID: "s3_bucket_public_access", AssetID: "a1",
		Name: "bucket-1: S3 bucket is not public", Origin: citadel.OriginScan, Status: citadel.EvidenceInReview,
		IsContinuous: true, AssetName: "bucket-1", AssetType: "s3_bucket", AssetSourceID: "arn:aws:s3:::bucket-1",
		ResultStatus: citadel.StatusPass, RevisionCount: 1, LatestHash: rev.Hash, CreatedAt: t0, UpdatedAt: t0,
	}, rev
}

// next returns e's next revision over raw and the write that stores it.
func next(e citadel.Evidence, prev citadel.EvidenceRevision, raw []byte) (ddb.EvidenceWrite, citadel.EvidenceRevision) {
	rev := citadel.NewRevision(e.ID, prev.Number+1, "scn-2", raw, &prev, t0.Add(time.Hour))
	w := ddb.EvidenceWrite{PrevRevisionCount: e.RevisionCount, PrevStatus: e.Status}
	e.RevisionCount, e.LatestHash, e.Status = rev.Number, rev.Hash, citadel.EvidenceInReview
	w.Evidence, w.Revision = e, &rev
	return w, rev
}

func TestEvidenceRevisionChainAndVerification(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, table := testenv.Table(t, cfg)
	s := ddb.NewFromClient(client, table)

	e, r1 := newEvidence("ev-1", []byte(`{"status":"PASS"}`))
	conflicts, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{{Evidence: e, Revision: &r1, Create: true}})
	if err != nil || len(conflicts) != 0 {
		t.Fatalf("create: %v %v", conflicts, err)
	}
	// Creating it again is a conflict, reported and not fatal.
	conflicts, err = s.WriteEvidence(ctx, []ddb.EvidenceWrite{{Evidence: e, Revision: &r1, Create: true}})
	if err != nil || len(conflicts) != 1 {
		t.Fatalf("second create: conflicts %v, %v; want one conflict", conflicts, err)
	}
	w2, r2 := next(e, r1, []byte(`{"status":"FAIL"}`))
	if c, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{w2}); err != nil || len(c) != 0 {
		t.Fatalf("revision 2: %v %v", c, err)
	}
	// The same write again (a retried request whose first attempt went
	// through) finds its own record and changes nothing.
	if c, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{w2}); err != nil || len(c) != 0 {
		t.Fatalf("retried revision 2: %v %v; want no conflict", c, err)
	}
	revs, err := s.EvidenceRevisions(ctx, "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.EvidenceRevision{r2, r1}, revs); d != "" {
		t.Errorf("revisions newest first (-want +got):\n%s", d)
	}
	if b, err := s.VerifyEvidence(ctx, "ev-1"); err != nil || b != nil {
		t.Fatalf("verify intact chain: %v, %v", b, err)
	}
	// A write that loses its condition (the record was reviewed meanwhile)
	// leaves at most an uncommitted revision 3, which nothing counts.
	cur, _ := s.GetEvidence(ctx, "ev-1")
	w3, _ := next(cur, r2, []byte(`{"status":"ERROR"}`))
	w3.PrevStatus = citadel.EvidenceApproved
	if c, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{w3}); err != nil || len(c) != 1 {
		t.Fatalf("write over a changed status: %v %v; want one conflict", c, err)
	}
	if revs, err := s.EvidenceRevisions(ctx, "ev-1"); err != nil || len(revs) != 2 {
		t.Errorf("after an uncommitted revision: %d revisions, %v; want 2", len(revs), err)
	}
	if b, err := s.VerifyEvidence(ctx, "ev-1"); err != nil || b != nil {
		t.Fatalf("verify with an uncommitted revision: %v, %v", b, err)
	}

	// Tampering with revision 1's content breaks the chain at 1.
	_, err = client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "EVID#ev-1"}, "SK": &types.AttributeValueMemberS{Value: "REV#00000001"},
		},
		UpdateExpression:          aws.String("SET #r.#i = :x"),
		ExpressionAttributeNames:  map[string]string{"#r": "Raw", "#i": "Inline"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":x": &types.AttributeValueMemberB{Value: []byte(`{"status":"FAIL"}`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.VerifyEvidence(ctx, "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&citadel.ChainBreak{Number: 1, Reason: "content does not match its content hash"}, b); d != "" {
		t.Errorf("break (-want +got):\n%s", d)
	}
	if _, err := s.VerifyEvidence(ctx, "ev-404"); !citadel.IsNotFound(err) {
		t.Errorf("verify missing: got %v, want not found", err)
	}
}

func TestEvidenceWriteRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	e, r1 := newEvidence("ev-1", []byte(`{}`))
	noRev := ddb.EvidenceWrite{Evidence: e, Create: true}
	wrongNumber := r1
	wrongNumber.Number = 2
	wrongHash := e
	wrongHash.LatestHash = "nope"
	noFolder := e
	noFolder.FolderID = ""
	badStatus := e
	badStatus.Status = "maybe"
	for name, w := range map[string]ddb.EvidenceWrite{
		"create without revision": noRev,
		"revision number":         {Evidence: e, Revision: &wrongNumber, Create: true},
		"latest hash":             {Evidence: wrongHash, Revision: &r1, Create: true},
		"no folder":               {Evidence: noFolder, Revision: &r1, Create: true},
		"bad status":              {Evidence: badStatus, Revision: &r1, Create: true},
	} {
		if _, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{w}); !citadel.IsInvalid(err) {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
	if _, err := s.GetEvidence(ctx, "ev-1"); !citadel.IsNotFound(err) {
		t.Errorf("a rejected write stored something: %v", err)
	}
}

func TestEvidenceReviewAndListByStatus(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t, ddb.WithClock(func() time.Time { return t0.Add(2 * time.Hour) }))
	var ws []ddb.EvidenceWrite
	for _, id := range []string{"ev-1", "ev-2", "ev-3"} {
		e, r := newEvidence(id, []byte(id))
		ws = append(ws, ddb.EvidenceWrite{Evidence: e, Revision: &r, Create: true})
	}
	if c, err := s.WriteEvidence(ctx, ws); err != nil || len(c) != 0 {
		t.Fatal(c, err)
	}
	got, err := s.ReviewEvidence(ctx, "ev-2", citadel.EvidenceReview{By: "auditor", Decision: citadel.ReviewApprove, Comment: "looks right"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != citadel.EvidenceApproved || got.ReviewComment != "looks right" || !got.ReviewedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("reviewed = %+v", got)
	}
	if _, err := s.ReviewEvidence(ctx, "ev-3", citadel.EvidenceReview{By: "auditor", Decision: citadel.ReviewReject, Comment: "stale"}); err != nil {
		t.Fatal(err)
	}
	ids := func(st citadel.EvidenceStatus) []string {
		p, err := s.ListEvidence(ctx, "f1", st, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range p.Items {
			out = append(out, e.ID)
		}
		return out
	}
	if d := cmp.Diff([]string{"ev-1"}, ids(citadel.EvidenceInReview)); d != "" {
		t.Errorf("in review (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"ev-2"}, ids(citadel.EvidenceApproved)); d != "" {
		t.Errorf("approved (-want +got):\n%s", d)
	}
	if n := len(ids("")); n != 3 {
		t.Errorf("all statuses: %d, want 3", n)
	}
	all, err := s.GetEvidenceBatch(ctx, []string{"ev-1", "ev-2", "ev-404", "ev-3"})
	if err != nil || len(all) != 3 || all["ev-2"].Status != citadel.EvidenceApproved {
		t.Errorf("batch get = %v, %v; want the 3 records, ev-2 approved", all, err)
	}
	if _, err := s.ReviewEvidence(ctx, "ev-404", citadel.EvidenceReview{By: "auditor", Decision: citadel.ReviewApprove, Comment: ""}); !citadel.IsNotFound(err) {
		t.Errorf("review missing: got %v, want not found", err)
	}
}
