package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/lambdatest"
	"github.com/citadelsecure/citadel/shared/steps/catalogimport"
	"github.com/citadelsecure/citadel/shared/steps/controls"
	"github.com/citadelsecure/citadel/shared/testenv"
)

// seed stores what the sample event's scan (scn-demo-0001 of int-demo, seeded
// as it is) needs: the catalog package's fixture, imported with the real
// catalog-import step, three results of that scan on three assets, and the
// controls the real controls step sorts them into.
func seed(t *testing.T, ctx context.Context, store *ddb.Store) {
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
		id := citadel.AssetID("int-demo", citadel.SourceAWS, r.arn)
		assets = append(assets, citadel.Asset{ID: id, IntegrationID: "int-demo", Source: citadel.SourceAWS, SourceID: r.arn,
			ServiceType: "AWS::S3::Bucket", Name: r.arn, AccountID: "123456789012", IsActive: true, FirstSeen: now, LastSeen: now})
		ws = append(ws, ddb.ResultWrite{Result: citadel.CheckResult{IntegrationID: "int-demo", CheckID: r.check, AssetID: id, AssetARN: r.arn,
			ScanID: "scn-demo-0001", Status: r.status, StatusExtended: r.check + ": " + string(r.status), ScannedAt: now}})
	}
	if err := store.PutAssets(ctx, assets); err != nil {
		t.Fatal(err)
	}
	if err := store.PutResults(ctx, ws); err != nil {
		t.Fatal(err)
	}
	ctl := &controls.Handler{Store: store, Catalog: store, Results: store}
	if _, err := ctl.Handle(ctx, citadel.ControlsInput{Plan: citadel.PlanOutput{ScanID: "scn-demo-0001", IntegrationID: "int-demo", FolderID: "default"}}); err != nil {
		t.Fatal(err)
	}
}

// The built bootstrap, under the Lambda Runtime Interface Emulator, creates
// the policies of the sample event's SCF controls; a second run skips them.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	seed(t, ctx, store)

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "policies"), map[string]string{citadel.EnvTable: table})
	event := lambdatest.Event(t, root, "policies", "scan.json")
	run := func() citadel.PoliciesOutput {
		t.Helper()
		resp, err := fn.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var out citadel.PoliciesOutput
		if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
			t.Fatalf("response = %s", resp.Payload)
		}
		out.Usage = citadel.Usage{}
		return out
	}
	// Two of the three SCF controls (IAC-06.1, IAC-06, CRY-05) have a template.
	if got, want := run(), (citadel.PoliciesOutput{PoliciesCreated: 2}); got != want {
		t.Errorf("first run = %+v\nwant        %+v", got, want)
	}
	if got, want := run(), (citadel.PoliciesOutput{PoliciesSkipped: 2}); got != want {
		t.Errorf("second run = %+v\nwant         %+v", got, want)
	}

	// A plan without a folder is refused with the domain error's message.
	resp, err := fn.Invoke(ctx, []byte(`{"plan":{"scan_id":"scn-demo-0001","integration_id":"int-demo"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "the plan needs folder_id") {
		t.Errorf("bad event: got %s, want a function error", resp.Payload)
	}
}
