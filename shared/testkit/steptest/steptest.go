// Package steptest seeds, through the real store and steps, what the step
// functions' sample events (events/<function>/scan.json: scan scn-demo-0001
// of integration int-demo in folder "default") need: the catalog package's
// fixture, three assets with a result each, and the controls of those
// results. Tests only.
package steptest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/steps/controls"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The sample events' scan.
const (
	ScanID        = "scn-demo-0001"
	IntegrationID = "int-demo"
	FolderID      = "default"
)

// SeedSampleScan imports the catalog fixture with the real catalog-import
// step and stores three assets with a result of the sample scan each.
func SeedSampleScan(t *testing.T, ctx context.Context, store *ddb.Store) {
	t.Helper()
	fixture := filepath.Join(testenv.RepoRoot(), "shared", "catalog", "testdata")
	imp := &catalogimport.Handler{Store: store}
	if _, err := imp.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: filepath.Join(fixture, "prowler"), SCFSource: filepath.Join(fixture, "scf")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var assets []citadel.Asset
	var ws []ddb.ResultWrite
	for _, r := range []struct {
		check, arn string
		status     citadel.CheckStatus
	}{
		{"s3_bucket_default_encryption", "arn:aws:s3:::citadel-logs", citadel.StatusPass},
		{"s3_bucket_default_encryption", "arn:aws:s3:::citadel-public", citadel.StatusFail},
		{"iam_root_mfa_enabled", "arn:aws:iam::123456789012:root", citadel.StatusFail},
	} {
		id := citadel.AssetID(IntegrationID, citadel.SourceAWS, r.arn)
		assets = append(assets, citadel.Asset{ID: id, IntegrationID: IntegrationID, Source: citadel.SourceAWS, SourceID: r.arn,
			ServiceType: "AWS::S3::Bucket", Name: r.arn, AccountID: "123456789012", IsActive: true, FirstSeen: now, LastSeen: now})
		ws = append(ws, ddb.ResultWrite{Result: citadel.CheckResult{IntegrationID: IntegrationID, CheckID: r.check, AssetID: id, AssetARN: r.arn,
			ScanID: ScanID, Status: r.status, StatusExtended: r.check + ": " + string(r.status), ScannedAt: now}})
	}
	if err := store.PutAssets(ctx, assets); err != nil {
		t.Fatal(err)
	}
	if err := store.PutResults(ctx, ws); err != nil {
		t.Fatal(err)
	}
}

// RunControls sorts the sample scan's results into controls with the real
// controls step, as the state machine does before policies and evidence.
func RunControls(t *testing.T, ctx context.Context, store *ddb.Store) {
	t.Helper()
	ctl := &controls.Handler{Store: store, Catalog: store, Results: store}
	if _, err := ctl.Handle(ctx, citadel.ControlsInput{Plan: citadel.PlanOutput{ScanID: ScanID, IntegrationID: IntegrationID, FolderID: FolderID}}); err != nil {
		t.Fatal(err)
	}
}
