package prowler_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestExportCatalog exports the installed Prowler's catalog to moto's S3 and
// compares the objects with the package's files.
func TestExportCatalog(t *testing.T) {
	p := installed(t)
	cfg := testenv.Config(t)
	client, bucket := testenv.Bucket(t, cfg)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	exp, err := prowler.ExportCatalog(context.Background(), client, bucket, "", p, func() time.Time { return now }, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}

	// What the package holds, by the same globs.
	var want []string
	for _, pat := range []string{"providers/aws/services/*/*/*.metadata.json", "compliance/aws/*.json", "compliance/*.json"} {
		m, _ := filepath.Glob(filepath.Join(p.PackageDir, pat))
		for _, f := range m {
			rel, _ := filepath.Rel(p.PackageDir, f)
			want = append(want, citadel.CatalogPrefix+rel)
		}
	}
	want = append(want, citadel.CatalogPrefix+prowler.CatalogVersionFile)
	var got []string
	pg := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(citadel.CatalogPrefix)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			got = append(got, aws.ToString(o.Key))
		}
	}
	if diff := cmp.Diff(sorted(want), sorted(got)); diff != "" {
		t.Errorf("exported objects (-want +got):\n%s", diff)
	}
	if len(got) < 645 {
		t.Errorf("only %d objects exported", len(got))
	}

	rel := "providers/aws/services/s3/s3_bucket_default_encryption/s3_bucket_default_encryption.metadata.json"
	local, err := os.ReadFile(filepath.Join(p.PackageDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	remote, err := getObject(t, client, bucket, citadel.CatalogPrefix+rel)
	if err != nil {
		t.Fatal(err)
	}
	if string(local) != string(remote) {
		t.Errorf("%s differs from the package's file", rel)
	}

	vb, err := getObject(t, client, bucket, citadel.CatalogPrefix+prowler.CatalogVersionFile)
	if err != nil {
		t.Fatal(err)
	}
	var version prowler.CatalogExport
	if err := json.Unmarshal(vb, &version); err != nil {
		t.Fatal(err)
	}
	checks := 0
	for _, k := range want {
		if strings.HasSuffix(k, ".metadata.json") {
			checks++
		}
	}
	wantV := prowler.CatalogExport{ProwlerVersion: "5.40.0", Files: len(want) - 1, Checks: checks, Frameworks: len(want) - 1 - checks, ExportedAt: now}
	if diff := cmp.Diff(wantV, version); diff != "" {
		t.Errorf("version.json (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantV, exp); diff != "" {
		t.Errorf("returned export (-want +got):\n%s", diff)
	}
}

// TestExportCatalogBadInput: no bucket, and a bucket that does not exist.
func TestExportCatalogBadInput(t *testing.T) {
	p := installed(t)
	cfg := testenv.Config(t)
	client, _ := testenv.Bucket(t, cfg)
	if _, err := prowler.ExportCatalog(context.Background(), client, "", "", p, nil, testLogger(t)); !citadel.IsInvalid(err) {
		t.Errorf("no bucket: %v, want invalid", err)
	}
	_, err := prowler.ExportCatalog(context.Background(), client, "no-such-bucket-"+testenv.Name(t, "x"), "", p, nil, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("missing bucket: %v, want NoSuchBucket", err)
	}
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	slices.Sort(c)
	return c
}
