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
	"github.com/citadelsecure/citadel/shared/testenv"
)

// seed stores what the sample event's scan (scn-demo-0001 of int-demo, seeded
// as it is) needs: the catalog package's fixture, imported with the real
// catalog-import step, and three results of that scan on two assets.
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
}

// The built bootstrap, under the Lambda Runtime Interface Emulator, sorts the
// sample event's results into controls; a second run changes nothing.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	seed(t, ctx, store)

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "controls"), map[string]string{citadel.EnvTable: table})
	event := lambdatest.Event(t, root, "controls", "scan.json")
	run := func() citadel.ControlsOutput {
		t.Helper()
		resp, err := fn.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var out citadel.ControlsOutput
		if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
			t.Fatalf("response = %s", resp.Payload)
		}
		out.Usage = citadel.Usage{}
		return out
	}
	// The fixture links the two checks to three SCF controls (IAC-06.1,
	// IAC-06 and CRY-05), mapped to nine requirements.
	if got, want := run(), (citadel.ControlsOutput{ControlsCreated: 3, SCFControls: 3, MappingsCreated: 9}); got != want {
		t.Errorf("first run = %+v\nwant        %+v", got, want)
	}
	all, err := store.AllControls(ctx, "default")
	if err != nil || len(all) != 3 {
		t.Errorf("stored controls: %d, %v", len(all), err)
	}
	if got, want := run(), (citadel.ControlsOutput{SCFControls: 3}); got != want {
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
