package ddb_test

import (
	"context"
	"fmt"
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

const (
	alice = "arn:aws:iam::123456789012:user/alice"
	bob   = "arn:aws:iam::123456789012:user/bob"
)

// reviewedEvidence stores evidence id with two revisions and two reviews:
// alice rejects revision 1, a scan writes revision 2, bob approves it.
func reviewedEvidence(t *testing.T, s *ddb.Store, id string) citadel.EvidenceRevision {
	t.Helper()
	ctx := context.Background()
	e, r1 := newEvidence(id, []byte(`{"status":"FAIL"}`))
	if c, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{{Evidence: e, Revision: &r1, Create: true}}); err != nil || len(c) > 0 {
		t.Fatalf("create: %v %v", c, err)
	}
	if _, err := s.ReviewEvidence(ctx, id, citadel.EvidenceReview{By: alice, Decision: citadel.ReviewReject, Comment: "bucket still public", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	cur, err := s.GetEvidence(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	w2, _ := next(cur, r1, []byte(`{"status":"PASS"}`))
	if c, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{w2}); err != nil || len(c) > 0 {
		t.Fatalf("revision 2: %v %v", c, err)
	}
	if _, err := s.ReviewEvidence(ctx, id, citadel.EvidenceReview{By: bob, Decision: citadel.ReviewApprove, Comment: "fixed", At: t0.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return r1
}

func TestEvidenceReviewHistoryIsChained(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	r1 := reviewedEvidence(t, s, "ev-1")
	revs, err := s.EvidenceRevisions(ctx, "ev-1")
	if err != nil || len(revs) != 2 {
		t.Fatalf("revisions: %d, %v", len(revs), err)
	}
	reviews, err := s.EvidenceReviews(ctx, "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		Number, Revision          int
		By, Comment               string
		Decision                  citadel.ReviewDecision
		At                        time.Time
		RevisionHash, PrevHash    string
		HashIsChainedFromPrevHash bool
		EvidenceID                string
	}
	var got []seen
	for _, r := range reviews {
		got = append(got, seen{r.Number, r.Revision, r.By, r.Comment, r.Decision, r.At, r.RevisionHash, r.PrevHash, r.Hash != "" && r.Hash != r.PrevHash, r.EvidenceID})
	}
	want := []seen{
		{2, 2, bob, "fixed", citadel.ReviewApprove, t0.Add(3 * time.Hour), revs[0].Hash, reviews[1].Hash, true, "ev-1"},
		{1, 1, alice, "bucket still public", citadel.ReviewReject, t0.Add(time.Hour), r1.Hash, "", true, "ev-1"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("reviews newest first (-want +got):\n%s", d)
	}
	e, err := s.GetEvidence(ctx, "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != citadel.EvidenceApproved || e.ReviewCount != 2 || e.LatestReviewHash != reviews[0].Hash ||
		e.ReviewedBy != bob || e.ReviewComment != "fixed" || !e.ReviewedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("record after two reviews: %+v", e)
	}
	if b, err := s.VerifyEvidence(ctx, "ev-1"); err != nil || b != nil {
		t.Errorf("verify: %v, %v; want the chains to hold", b, err)
	}
	// A review that says nothing is refused, and nothing is stored.
	if _, err := s.ReviewEvidence(ctx, "ev-1", citadel.EvidenceReview{By: bob, Decision: "maybe", Comment: "x"}); !citadel.IsInvalid(err) {
		t.Errorf("bad decision: %v, want invalid", err)
	}
	if _, err := s.ReviewEvidence(ctx, "ev-1", citadel.EvidenceReview{Decision: citadel.ReviewApprove, Comment: "x"}); !citadel.IsInvalid(err) {
		t.Errorf("no reviewer: %v, want invalid", err)
	}
	if again, _ := s.EvidenceReviews(ctx, "ev-1"); len(again) != 2 {
		t.Errorf("refused reviews stored: %d reviews", len(again))
	}
	if _, err := s.EvidenceReviews(ctx, "ev-404"); !citadel.IsNotFound(err) {
		t.Errorf("reviews of missing evidence: %v, want not found", err)
	}
}

// TestTamperedReviewIsCaught: every edit of a review, or of what commits
// the history, is a chain break VerifyEvidence names.
func TestTamperedReviewIsCaught(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, table := testenv.Table(t, cfg)
	s := ddb.NewFromClient(client, table)
	key := func(id, sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "EVID#" + id}, "SK": &types.AttributeValueMemberS{Value: sk}}
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	// setAll sets attributes of review 1 (or of the record, for LatestReviewHash).
	setAll := func(attrs map[string]types.AttributeValue) func(string) error {
		return func(id string) error {
			sk := "REVIEW#00000001"
			names, values, sets := map[string]string{}, map[string]types.AttributeValue{}, ""
			for a, v := range attrs {
				if a == "LatestReviewHash" {
					sk = "EVID"
				}
				n := len(names)
				names[fmt.Sprintf("#a%d", n)], values[fmt.Sprintf(":v%d", n)] = a, v
				if sets != "" {
					sets += ", "
				}
				sets += fmt.Sprintf("#a%d = :v%d", n, n)
			}
			_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(table), Key: key(id, sk), UpdateExpression: aws.String("SET " + sets),
				ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			})
			return err
		}
	}
	set := func(attr string, v types.AttributeValue) func(string) error {
		return setAll(map[string]types.AttributeValue{attr: v})
	}
	del := func(sk string) func(string) error {
		return func(id string) error {
			_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(id, sk)})
			return err
		}
	}
	hashBreak := "review 1: hash does not match its content (by, decision, comment, time or revision changed)"
	for i, tc := range []struct {
		name   string
		tamper func(id string) error
		want   citadel.ChainBreak
	}{
		{"comment edited", set("Comment", str("all good")), citadel.ChainBreak{Number: 1, Review: 1, Reason: hashBreak}},
		{"reviewer edited", set("By", str(bob)), citadel.ChainBreak{Number: 1, Review: 1, Reason: hashBreak}},
		{"decision edited", set("Decision", str("approve")), citadel.ChainBreak{Number: 1, Review: 1, Reason: hashBreak}},
		{"time edited", set("At", str("2026-11-29T12:30:00Z")), citadel.ChainBreak{Number: 1, Review: 1, Reason: hashBreak}},
		{"judged revision edited", set("Revision", &types.AttributeValueMemberN{Value: "2"}), citadel.ChainBreak{Number: 2, Review: 1, Reason: hashBreak}},
		{"rewritten whole, its hash recomputed", func(id string) error {
			// Review 1 as if alice had approved: valid on its own, but
			// review 2 follows the review she really made.
			_, r1 := newEvidence(id, []byte(`{"status":"FAIL"}`))
			forged := citadel.NewReview(citadel.Evidence{ID: id, RevisionCount: 1, LatestHash: r1.Hash}, alice, citadel.ReviewApprove, "looks fine", t0.Add(time.Hour))
			return setAll(map[string]types.AttributeValue{"Decision": str("approve"), "Comment": str("looks fine"), "Hash": str(forged.Hash)})(id)
		}, citadel.ChainBreak{Number: 2, Review: 2, Reason: "review 2: previous hash does not match the previous review"}},
		{"first review deleted", del("REVIEW#00000001"), citadel.ChainBreak{Number: 2, Review: 2, Reason: "review 2: found where review 1 was expected"}},
		{"last review deleted", del("REVIEW#00000002"), citadel.ChainBreak{Review: 1, Reason: "1 reviews stored, the evidence records 2"}},
		{"record's latest review hash edited", set("LatestReviewHash", str("0000")), citadel.ChainBreak{Number: 2, Review: 2, Reason: "latest review's hash does not match the evidence's latest_review_hash"}},
	} {
		id := fmt.Sprintf("ev-%d", i)
		t.Run(tc.name, func(t *testing.T) {
			reviewedEvidence(t, s, id)
			if b, err := s.VerifyEvidence(ctx, id); err != nil || b != nil {
				t.Fatalf("before tampering: %v, %v", b, err)
			}
			if err := tc.tamper(id); err != nil {
				t.Fatal(err)
			}
			b, err := s.VerifyEvidence(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&tc.want, b); d != "" {
				t.Errorf("break (-want +got):\n%s", d)
			}
		})
	}
}

// TestReviewAndScanNeverOverwriteEachOther: a scan's write over a record
// read before a review (even one that keeps the status) is a conflict, so
// a committed review is never lost.
func TestReviewAndScanNeverOverwriteEachOther(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	e, r1 := newEvidence("ev-1", []byte(`{}`))
	if c, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{{Evidence: e, Revision: &r1, Create: true}}); err != nil || len(c) > 0 {
		t.Fatalf("create: %v %v", c, err)
	}
	approve := citadel.EvidenceReview{By: alice, Decision: citadel.ReviewApprove, Comment: "ok", At: t0}
	if _, err := s.ReviewEvidence(ctx, "ev-1", approve); err != nil {
		t.Fatal(err)
	}
	stale, _ := s.GetEvidence(ctx, "ev-1") // what a scan read
	approve.By, approve.At = bob, t0.Add(time.Minute)
	if _, err := s.ReviewEvidence(ctx, "ev-1", approve); err != nil { // approved again: same status
		t.Fatal(err)
	}
	w := ddb.EvidenceWrite{Evidence: stale, PrevRevisionCount: stale.RevisionCount, PrevStatus: stale.Status}
	w.Evidence.ControlIDs = []string{"ctl-1"}
	if c, err := s.WriteEvidence(ctx, []ddb.EvidenceWrite{w}); err != nil || len(c) != 1 {
		t.Fatalf("scan write over a re-reviewed record: %v, %v; want one conflict", c, err)
	}
	got, _ := s.GetEvidence(ctx, "ev-1")
	if got.ReviewCount != 2 || got.ReviewedBy != bob || len(got.ControlIDs) != 0 {
		t.Errorf("record: reviews %d by %s, controls %v; want bob's second review kept", got.ReviewCount, got.ReviewedBy, got.ControlIDs)
	}
	if b, err := s.VerifyEvidence(ctx, "ev-1"); err != nil || b != nil {
		t.Errorf("verify: %v, %v", b, err)
	}
}
