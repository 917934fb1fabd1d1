package ddb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// A latest digest written before results moved to their integration's
// partition (no ResultLayout) is taken for expired, so the next scan
// compares against nothing and writes every result at its new key; the
// scan's own digest still answers what it recorded.
func TestLatestDigestOfAnEarlierResultLayoutIsExpired(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, table := testenv.Table(t, cfg)
	store := ddb.NewFromClient(client, table)
	d := ddb.ScanDigest{IntegrationID: "integ-1", ScanID: "scan-1", Checks: []string{"a_check"}, CreatedAt: rt0}
	if err := store.PutScanDigest(ctx, d, digestEntries(3, d.Checks)); err != nil {
		t.Fatal(err)
	}
	head, err := store.LatestScanDigest(ctx, "integ-1")
	if err != nil || head.ResultLayout != ddb.ResultLayout {
		t.Fatalf("a digest of this layout: layout %d, %v; want %d, nil", head.ResultLayout, err, ddb.ResultLayout)
	}
	// As a stack deployed before layout 2 wrote it.
	if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			ddb.AttrPK: &types.AttributeValueMemberS{Value: "SCAN#scan-1"},
			ddb.AttrSK: &types.AttributeValueMemberS{Value: "DIGEST"},
		},
		UpdateExpression:    aws.String("REMOVE ResultLayout"),
		ConditionExpression: aws.String("attribute_exists(ResultLayout)"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LatestScanDigest(ctx, "integ-1"); !errors.Is(err, ddb.ErrDigestExpired) {
		t.Errorf("the latest digest of layout 0: %v, want ErrDigestExpired", err)
	}
	if got, err := store.GetScanDigest(ctx, "scan-1"); err != nil || got.Count != 3 {
		t.Errorf("the scan's own digest: %d entries, %v; want 3", got.Count, err)
	}
}
