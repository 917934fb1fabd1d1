package ddb_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// everyType is an item with every attribute type, nested.
func everyType(pk string) map[string]types.AttributeValue {
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

// scanAll is every item of table, ordered by PK and SK.
func scanAll(t *testing.T, db *dynamodb.Client, table string) []map[string]types.AttributeValue {
	t.Helper()
	var all []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Items...)
	}
	key := func(it map[string]types.AttributeValue) string {
		return it["PK"].(*types.AttributeValueMemberS).Value + "\x00" + it["SK"].(*types.AttributeValueMemberS).Value
	}
	sort.Slice(all, func(i, j int) bool { return key(all[i]) < key(all[j]) })
	return all
}

// onlyBlobs is a blob store that cannot list its keys.
type onlyBlobs struct{ ddb.Blobs }

// TestExportAndImport: a table's items of every attribute type and the
// store's offloaded values survive the trip through the folder into a new
// table and bucket, and read back through the new store; other objects of
// the bucket are not kept. A second export replaces the first.
func TestExportAndImport(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	db, table := testenv.Table(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	src := testenv.StoreOn(t, cfg, table, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}))
	for i := range 60 { // more than two batches
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: everyType(fmt.Sprintf("item#%02d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	big := bytes.Repeat([]byte("offloaded "), ddb.InlineLimit/5)
	bounded, err := src.Bound(ctx, "raw", big)
	if err != nil || !strings.HasPrefix(bounded.BlobKey, ddb.BlobPrefix+"raw/") {
		t.Fatalf("bound: %+v, %v; want a blob under %sraw/", bounded.BlobKey, err, ddb.BlobPrefix)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("scans/scan-1/prowler.ocsf.json"), Body: strings.NewReader("[]")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ddb.ExportTableFile), []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := src.Export(ctx, dir)
	if d := cmp.Diff(ddb.Exported{Items: 60, Blobs: 1}, n); d != "" || err != nil {
		t.Fatalf("export: %v (-want +got):\n%s", err, d)
	}

	db2, table2 := testenv.Table(t, cfg)
	_, bucket2 := testenv.Bucket(t, cfg)
	dst := testenv.StoreOn(t, cfg, table2, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket2}))
	n, err = dst.Import(ctx, dir)
	if d := cmp.Diff(ddb.Exported{Items: 60, Blobs: 1}, n); d != "" || err != nil {
		t.Fatalf("import: %v (-want +got):\n%s", err, d)
	}
	if d := cmp.Diff(scanAll(t, db, table), scanAll(t, db2, table2), avOpts); d != "" {
		t.Errorf("imported table (-exported +imported):\n%s", d)
	}
	got, err := dst.Unbound(ctx, bounded)
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("offloaded value through the new store: %d bytes, %v; want %d bytes", len(got), err, len(big))
	}
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket2), Key: aws.String("scans/scan-1/prowler.ocsf.json")}); err == nil {
		t.Error("a scan object was imported; only blobs are kept")
	}
}

// TestExportRefusesABlobStoreThatCannotList: the offloaded values would be
// lost, so nothing is exported.
func TestExportRefusesABlobStoreThatCannotList(t *testing.T) {
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	s := testenv.StoreOn(t, cfg, table, ddb.WithBlobs(onlyBlobs{&blobstore.S3{Client: s3c, Bucket: bucket}}))
	dir := t.TempDir()
	if _, err := s.Export(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "cannot list its blobs") {
		t.Errorf("error %v, want one about listing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ddb.ExportTableFile)); err == nil {
		t.Error("the table was exported without its blobs")
	}
}

// TestImportRefusesABadFolder: a damaged table file is refused with its
// line, and blobs without a blob store are refused, before anything is
// written; a folder without an export imports nothing.
func TestImportRefusesABadFolder(t *testing.T) {
	cfg := testenv.Config(t)
	db, table := testenv.Table(t, cfg)
	good := `{"M":{"PK":{"S":"p"},"SK":{"S":"s"}}}` + "\n"
	cases := []struct{ name, body, blob, err string }{
		{"not JSON", good + "{oops\n", "", "table.jsonl line 2"},
		{"two types", `{"S":"a","N":"1"}` + "\n", "", "line 1: an attribute value has exactly one type key"},
		{"not an item", good + `{"S":"a"}` + "\n", "", "line 2: not an item"},
		{"unknown type", `{"M":{"PK":{"Q":"a"}}}` + "\n", "", `unknown attribute type "Q"`},
		{"bad base64", `{"M":{"B":{"B":"%%%"}}}` + "\n", "", "line 1"},
		{"blobs without a blob store", good, "raw/ab12", "1 blobs in"},
	}
	s := testenv.StoreOn(t, cfg, table)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ddb.ExportTableFile), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.blob != "" {
				path := filepath.Join(dir, ddb.ExportBlobsDir, filepath.FromSlash(tc.blob))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n, err := s.Import(context.Background(), dir)
			if err == nil || !strings.Contains(err.Error(), tc.err) || n != (ddb.Exported{}) {
				t.Errorf("imported %+v, error %v; want nothing and %q", n, err, tc.err)
			}
			if items := scanAll(t, db, table); len(items) != 0 {
				t.Errorf("%d items written from a refused folder", len(items))
			}
		})
	}
	if n, err := s.Import(context.Background(), t.TempDir()); n != (ddb.Exported{}) || err != nil {
		t.Errorf("an empty folder imported %+v, %v", n, err)
	}
}
