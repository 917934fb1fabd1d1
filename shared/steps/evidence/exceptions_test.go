package evidence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/exctest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestExceptionEntersTheChain: a result marked excepted gives its record a
// revision naming the exception's approval (the record reads excepted and
// goes back in review); an unchanged rescan adds nothing; the exception's
// revocation is another revision, recording it; tampering with a
// revision's exception breaks the chain there.
func TestExceptionEntersTheChain(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.run(t, "scn-1")
	id := evID("s3_public", arnB)
	if _, err := e.store.ReviewEvidence(ctx, id, citadel.EvidenceReview{By: "auditor", Decision: citadel.ReviewApprove, Comment: "ok"}); err != nil {
		t.Fatal(err)
	}
	exc := exctest.Put(t, ctx, e.store, exctest.Request(t, "exc-1", "int-1", "s3_public",
		citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: arnB, AssetID: citadel.AssetID("int-1", citadel.SourceAWS, arnB)},
		t0.Add(-time.Hour), t0.AddDate(0, 1, 0)), citadel.ExceptionApproved)
	e.results["int-1"][1].ExceptionID = exc.ID // check-results marked it

	e.h.Clock = func() time.Time { return t0.Add(time.Hour) }
	if d := cmp.Diff(citadel.EvidenceOutput{EvidenceUpdated: 1, ResultsUnknownChecks: 1}, e.run(t, "scn-2")); d != "" {
		t.Errorf("approved (-want +got):\n%s", d)
	}
	got, _ := e.store.GetEvidence(ctx, id)
	if got.ExceptionID != exc.ID || got.ResultStatus != citadel.StatusExcepted || got.Status != citadel.EvidenceInReview || got.RevisionCount != 2 {
		t.Errorf("excepted evidence: exception %q, result %s, %s, rev %d; want exc-1, excepted, in_review, rev 2",
			got.ExceptionID, got.ResultStatus, got.Status, got.RevisionCount)
	}
	approval := exc.RecordDecision(true, t0)
	revs, err := e.store.EvidenceRevisions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&approval, revs[0].Exception); d != "" || revs[1].Exception != nil {
		t.Errorf("revision 2's exception (-want +got):\n%s(revision 1's: %+v)", d, revs[1].Exception)
	}
	if approval.DecidedBy != exctest.Reviewer || approval.Status != citadel.ExceptionApproved || !approval.Applies {
		t.Errorf("approval recorded as %+v", approval)
	}
	if b, err := e.store.VerifyEvidence(ctx, id); err != nil || b != nil {
		t.Fatalf("verify after approval: %v, %v", b, err)
	}

	before := e.dump(t)
	if d := cmp.Diff(citadel.EvidenceOutput{ResultsUnknownChecks: 1}, e.run(t, "scn-3")); d != "" {
		t.Errorf("unchanged rescan (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before, e.dump(t)); d != "" {
		t.Errorf("unchanged rescan changed the table (-before +after):\n%s", d)
	}

	revoked, err := e.store.DecideException(ctx, exc.ID, citadel.ExceptionDecision{Action: citadel.ExceptionRevoke, By: "ciso", At: t0.Add(2 * time.Hour), Note: "bucket now holds data"})
	if err != nil {
		t.Fatal(err)
	}
	e.results["int-1"][1].ExceptionID = ""
	e.h.Clock = func() time.Time { return t0.Add(3 * time.Hour) }
	if d := cmp.Diff(citadel.EvidenceOutput{EvidenceUpdated: 1, ResultsUnknownChecks: 1}, e.run(t, "scn-4")); d != "" {
		t.Errorf("revoked (-want +got):\n%s", d)
	}
	got, _ = e.store.GetEvidence(ctx, id)
	if got.ExceptionID != "" || got.ResultStatus != citadel.StatusFail || got.RevisionCount != 3 {
		t.Errorf("after revocation: exception %q, result %s, rev %d; want none, fail, rev 3", got.ExceptionID, got.ResultStatus, got.RevisionCount)
	}
	revs, _ = e.store.EvidenceRevisions(ctx, id)
	ended := revoked.RecordDecision(false, t0.Add(3*time.Hour))
	if d := cmp.Diff(&ended, revs[0].Exception); d != "" {
		t.Errorf("revision 3's exception (-want +got):\n%s", d)
	}
	if ended.Status != citadel.ExceptionRevoked || ended.DecidedBy != "ciso" || ended.Note != "bucket now holds data" {
		t.Errorf("revocation recorded as %+v", ended)
	}
	if b, err := e.store.VerifyEvidence(ctx, id); err != nil || b != nil {
		t.Fatalf("verify after revocation: %v, %v", b, err)
	}
	// A fourth scan with the mark gone for good adds nothing.
	if out := e.run(t, "scn-5"); out.EvidenceUpdated != 0 {
		t.Errorf("rescan after the revocation updated %d records", out.EvidenceUpdated)
	}

	// Someone rewrites who approved the exception in revision 2.
	_, err = e.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(e.table),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "EVID#" + id}, "SK": &types.AttributeValueMemberS{Value: "REV#00000002"}},
		UpdateExpression:          aws.String("SET #x.#by = :v"),
		ExpressionAttributeNames:  map[string]string{"#x": "Exception", "#by": "DecidedBy"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: "mallory"}},
		ConditionExpression:       aws.String("attribute_exists(#x)"),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.store.VerifyEvidence(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&citadel.ChainBreak{Number: 2, Reason: "content or exception exc-1 does not match its content hash"}, b); d != "" {
		t.Errorf("tampered exception (-want +got):\n%s", d)
	}
}

// TestRecheckTouchesOnlyItsResources: a re-check brings up to date the
// records of the results of its resources and leaves every other record as
// it is, though their results changed too.
func TestRecheckTouchesOnlyItsResources(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.run(t, "scn-1")
	s3c, bucket := testenv.Bucket(t, testenv.Config(t))
	e.h.S3 = s3c
	f := citadel.RecheckFile{IntegrationID: "int-1", ARNs: []string{arnB}, Services: []string{"s3"}, Events: 1, FirstEventAt: t0, LastEventAt: t0}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	key := citadel.ScanObjectKey("scn-2", citadel.RecheckFileName)
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
	untouched := map[string]citadel.Evidence{}
	for _, id := range []string{evID("s3_public", arnA), evID("iam_rotate", arnU)} {
		untouched[id], _ = e.store.GetEvidence(ctx, id)
	}
	e.results["int-1"][0] = result("s3_public", arnA, citadel.StatusFail, `{"status_code":"FAIL","n":1}`)
	e.results["int-1"][1] = result("s3_public", arnB, citadel.StatusPass, `{"status_code":"PASS","n":2}`)
	e.results["int-1"][2] = result("iam_rotate", arnU, citadel.StatusPass, `{"status_code":"PASS","n":3}`)
	rc := f.Recheck(key)
	e.h.Clock = func() time.Time { return t0.Add(time.Hour) }
	plan := citadel.PlanOutput{FolderID: "f1", IntegrationID: "int-1", ScanID: "scn-2", Bucket: bucket, Recheck: &rc}
	out, err := e.h.Handle(ctx, citadel.EvidenceInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	out.Usage = citadel.Usage{}
	if d := cmp.Diff(citadel.EvidenceOutput{EvidenceUpdated: 1}, out); d != "" {
		t.Errorf("re-check (-want +got):\n%s", d)
	}
	if got, _ := e.store.GetEvidence(ctx, evID("s3_public", arnB)); got.RevisionCount != 2 || got.ResultStatus != citadel.StatusPass {
		t.Errorf("re-checked record: rev %d, %s; want rev 2, pass", got.RevisionCount, got.ResultStatus)
	}
	for id, want := range untouched {
		got, _ := e.store.GetEvidence(ctx, id)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s, outside the re-check, changed (-before +after):\n%s", id, d)
		}
	}
	// Its file missing is a clear error, and nothing is written.
	missing := rc
	missing.Key = citadel.ScanObjectKey("scn-3", citadel.RecheckFileName)
	plan.Recheck, plan.ScanID = &missing, "scn-3"
	if _, err := e.h.Handle(ctx, citadel.EvidenceInput{Plan: plan}); !citadel.IsNotFound(err) {
		t.Errorf("a re-check without its file: %v, want not found", err)
	}
	e.h.S3 = nil
	if _, err := e.h.Handle(ctx, citadel.EvidenceInput{Plan: plan}); !citadel.IsInvalid(err) {
		t.Errorf("a re-check without an S3 client: %v, want invalid", err)
	}
}
