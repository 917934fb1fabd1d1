package demoestate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/testenv"
)

// item has every attribute type, nested.
func item(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK":   &types.AttributeValueMemberS{Value: pk},
		"SK":   &types.AttributeValueMemberS{Value: "META"},
		"N":    &types.AttributeValueMemberN{Value: "12.5"},
		"B":    &types.AttributeValueMemberB{Value: []byte{0, 1, 254}},
		"T":    &types.AttributeValueMemberBOOL{Value: true},
		"Nil":  &types.AttributeValueMemberNULL{Value: true},
		"SS":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"NS":   &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
		"BS":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
		"List": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberN{Value: "3"}}},
		"Map":  &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}}},
	}
}

var avOpts = cmpopts.IgnoreUnexported(types.AttributeValueMemberS{}, types.AttributeValueMemberN{}, types.AttributeValueMemberB{},
	types.AttributeValueMemberBOOL{}, types.AttributeValueMemberNULL{}, types.AttributeValueMemberSS{}, types.AttributeValueMemberNS{},
	types.AttributeValueMemberBS{}, types.AttributeValueMemberL{}, types.AttributeValueMemberM{})

func TestDynamoJSONRoundTrip(t *testing.T) {
	in := &types.AttributeValueMemberM{Value: item("p1")}
	b, err := json.Marshal(toJSON(in))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out, err := fromJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(types.AttributeValue(in), out, avOpts); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestRestoreStateRefusesABadFile: a damaged file is refused with its line,
// before anything is written (the clients are nil).
func TestRestoreStateRefusesABadFile(t *testing.T) {
	cases := []struct{ name, body, err string }{
		{"not JSON", `{"M":{}}` + "\n{oops\n", "line 2"},
		{"two types", `{"S":"a","N":"1"}` + "\n", "line 1: an attribute value has exactly one type key"},
		{"not an item", `{"S":"a"}` + "\n", "line 1: not an item"},
		{"unknown type", `{"M":{"PK":{"Q":"a"}}}` + "\n", `unknown attribute type "Q"`},
		{"bad base64", `{"M":{"B":{"B":"%%%"}}}` + "\n", "line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, TableFile), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := RestoreState(context.Background(), nil, "t", nil, "b", dir)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
	if n, b, err := RestoreState(context.Background(), nil, "t", nil, "b", t.TempDir()); n != 0 || b != 0 || err != nil {
		t.Errorf("an empty folder restored %d, %d, %v", n, b, err)
	}
}

// TestSaveAndRestoreState: a table's items and the bucket's blobs survive
// the trip through the folder into a new table and bucket; other objects
// of the bucket are not kept.
func TestSaveAndRestoreState(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	db, table := testenv.Table(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	var items []map[string]types.AttributeValue
	for i := range 60 { // more than two batches
		items = append(items, item("item#"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+strings.Repeat("y", i/26)))
	}
	if err := batchWrite(ctx, db, table, items); err != nil {
		t.Fatal(err)
	}
	for key, body := range map[string]string{BlobPrefix + "evidence/ab12": "big value", "scans/scan-1/prowler.ocsf.json": "[]"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	n, blobs, err := SaveState(ctx, db, table, s3c, bucket, dir)
	if err != nil || n != 60 || blobs != 1 {
		t.Fatalf("saved %d items, %d blobs, %v; want 60, 1", n, blobs, err)
	}

	db2, table2 := testenv.Table(t, cfg)
	_, bucket2 := testenv.Bucket(t, cfg)
	n, blobs, err = RestoreState(ctx, db2, table2, s3c, bucket2, dir)
	if err != nil || n != 60 || blobs != 1 {
		t.Fatalf("restored %d items, %d blobs, %v; want 60, 1", n, blobs, err)
	}
	out, err := db2.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table2), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": items[7]["PK"], "SK": items[7]["SK"]}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(items[7], out.Item, avOpts); d != "" {
		t.Errorf("restored item (-want +got):\n%s", d)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket2), Key: aws.String(BlobPrefix + "evidence/ab12")})
	if err != nil {
		t.Fatalf("restored blob: %v", err)
	}
	obj.Body.Close()
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket2), Key: aws.String("scans/scan-1/prowler.ocsf.json")}); err == nil {
		t.Error("a scan object was restored; only blobs are kept")
	}
}
