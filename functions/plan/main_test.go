package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The built bootstrap, under the Lambda Runtime Interface Emulator, plans the
// scans of its sample events (their ids are seeded as they are): an API scan
// the API recorded, and a scheduled scan it records itself. The catalog is
// the catalog package's fixture, imported with the real catalog-import step.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	fixture := filepath.Join(root, "shared", "catalog", "testdata")
	imp := &catalogimport.Handler{Store: store}
	if _, err := imp.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: filepath.Join(fixture, "prowler"), SCFSource: filepath.Join(fixture, "scf")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	integ := citadel.Integration{ID: "int-demo", FolderID: "default", Name: "demo", AccountID: "123456789012",
		RoleARN: "arn:aws:iam::123456789012:role/CitadelScanner", ExternalID: "citadel-demo",
		Regions: []string{"us-east-1"}, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateIntegration(ctx, integ); err != nil {
		t.Fatal(err)
	}
	if err := store.StartScan(ctx, citadel.Scan{ID: "scn-demo-0001", IntegrationID: "int-demo", FolderID: "default",
		Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "plan"), map[string]string{citadel.EnvTable: table, citadel.EnvBucket: bucket})

	// The fixture maps two live checks (the third is deprecated).
	const wantChecks = `{"aws":["iam_root_mfa_enabled","s3_bucket_default_encryption"]}`
	for _, tc := range []struct{ event, scan string }{{"api.json", "scn-demo-0001"}, {"schedule.json", "scn-demo-0002"}} {
		t.Run(tc.event, func(t *testing.T) {
			resp, err := fn.Invoke(ctx, lambdatest.Event(t, root, "plan", tc.event))
			if err != nil {
				t.Fatal(err)
			}
			var out citadel.PlanOutput
			if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
				t.Fatalf("response = %s", resp.Payload)
			}
			if out.ScanID != tc.scan || out.IntegrationID != "int-demo" || out.AccountID != "123456789012" || out.ChecksPlanned != 2 ||
				out.Bucket != bucket || out.ChecksKey != citadel.ScanObjectKey(tc.scan, citadel.ChecksFileName) || out.RegionsArg != "us-east-1" {
				t.Errorf("plan = %+v", out)
			}
			obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(out.ChecksKey)})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			if string(b) != wantChecks {
				t.Errorf("checks file = %s, want %s", b, wantChecks)
			}
			sc, err := store.GetScan(ctx, tc.scan)
			if err != nil || sc.Status != citadel.ScanRunning {
				t.Fatalf("scan %s = %+v, %v; want running", tc.scan, sc, err)
			}
			// A scheduled run records the execution the state machine names.
			if tc.event == "schedule.json" && sc.ExecutionARN != "arn:aws:states:us-east-1:123456789012:execution:citadel-scan:8c1f5b0e-6d3a-4b7e-9f21-0a4c2d9e7b13" {
				t.Errorf("scheduled scan's execution ARN = %q", sc.ExecutionARN)
			}
			// One scan runs at a time per integration: finish it before the next.
			sc.Status, sc.FinishedAt = citadel.ScanSucceeded, time.Now().UTC()
			if _, err := store.FinishScan(ctx, sc); err != nil {
				t.Fatal(err)
			}
		})
	}

	// A scan id that is no id is refused with the domain error's message.
	resp, err := fn.Invoke(ctx, []byte(`{"scan":{"scan_id":"not an id","integration_id":"int-demo","trigger":"api"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "is not a scan id") {
		t.Errorf("bad event: got %s, want a function error", resp.Payload)
	}
}
