package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// upload puts dir's files under prefix, skipping the paths in skip.
func upload(t *testing.T, client *s3.Client, bucket, prefix, dir string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if filepath.ToSlash(rel) == s {
				return nil
			}
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + filepath.ToSlash(rel)), Body: f})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The built bootstrap, under the Lambda Runtime Interface Emulator, imports
// the catalog package's fixture from S3, laid out as the Prowler task exports
// it. The sample events' bucket is rewritten to the test's fresh bucket;
// their prefixes are kept.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	fixture := filepath.Join(root, "shared", "catalog", "testdata")
	// The export: the package's files and, last, version.json (no config.py).
	upload(t, s3c, bucket, citadel.CatalogPrefix, filepath.Join(fixture, "prowler"), "config/config.py")
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(citadel.CatalogPrefix + "version.json"),
		Body: strings.NewReader(`{"prowler_version":"9.9.9","files":5}`)}); err != nil {
		t.Fatal(err)
	}
	upload(t, s3c, bucket, "catalog/scf/", filepath.Join(fixture, "scf"))
	event := func(name string) []byte {
		var in citadel.CatalogImportInput
		if err := json.Unmarshal(lambdatest.Event(t, root, "catalog-import", name), &in); err != nil {
			t.Fatal(err)
		}
		const sample = "s3://citadel-scans-123456789012/"
		if !strings.HasPrefix(in.ProwlerSource, sample) || (in.SCFSource != "" && !strings.HasPrefix(in.SCFSource, sample)) {
			t.Fatalf("%s: sources %q, %q are not in %s", name, in.ProwlerSource, in.SCFSource, sample)
		}
		in.ProwlerSource = strings.Replace(in.ProwlerSource, sample, "s3://"+bucket+"/", 1)
		in.SCFSource = strings.Replace(in.SCFSource, sample, "s3://"+bucket+"/", 1)
		b, _ := json.Marshal(in)
		return b
	}

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "catalog-import"), map[string]string{citadel.EnvTable: table, citadel.EnvBucket: bucket})
	invoke := func(event []byte) citadel.CatalogImportOutput {
		t.Helper()
		resp, err := fn.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var out citadel.CatalogImportOutput
		if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
			t.Fatalf("response = %s", resp.Payload)
		}
		out.Usage = citadel.Usage{}
		return out
	}

	// s3.json: Prowler and SCF, the same import as the fixture's from disk.
	got := invoke(event("s3.json"))
	local, err := (&catalogimport.Handler{Store: testenv.Store(t)}).Handle(ctx, citadel.CatalogImportInput{
		ProwlerSource: filepath.Join(fixture, "prowler"), SCFSource: filepath.Join(fixture, "scf"), MaxLinksPerCheck: 3})
	if err != nil {
		t.Fatal(err)
	}
	local.Usage = citadel.Usage{}
	if d := cmp.Diff(local, got); d != "" {
		t.Errorf("import from S3 differs from the import from disk (-disk +lambda):\n%s", d)
	}
	if got.ProwlerVersion != "9.9.9" || !got.SCFImported || got.Checks != 3 || got.Frameworks != 3 || got.Requirements != 6 ||
		got.SCFMappings != 10 || got.Links != 3 || got.Writes.Checks != 3 || got.Writes.Links != 3 {
		t.Errorf("s3.json: %+v", got)
	}

	// prowler-only.json: the same Prowler files again; nothing to write.
	again := invoke(event("prowler-only.json"))
	if again.SCFImported || again.Checks != 3 || again.Writes.Checks != 0 || again.Writes.Frameworks != 0 || again.Writes.Requirements != 0 {
		t.Errorf("prowler-only.json: %+v", again)
	}

	// A prefix with no catalog files is refused with the domain error's message.
	resp, err := fn.Invoke(ctx, []byte(`{"prowler_source":"s3://`+bucket+`/nothing/here/"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "no catalog files") {
		t.Errorf("empty prefix: got %s, want a function error", resp.Payload)
	}
}
